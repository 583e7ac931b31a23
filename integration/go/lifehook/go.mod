module lifehook.io/lifehook

go 1.19
