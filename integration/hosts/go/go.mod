module lifehook.invalid/hosts/go

go 1.19
