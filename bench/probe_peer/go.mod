module lifehook.example/probe_peer

go 1.19
