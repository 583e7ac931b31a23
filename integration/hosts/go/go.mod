module lifehook.invalid/hosts/go

go 1.19

require lifehook.io/lifehook v1.1.0

// The package from this tree; integration/hosts/run points it at the installed golang-lifehook-dev
// source (/usr/share/gocode/src/lifehook.io/lifehook) when it runs against the packages.
replace lifehook.io/lifehook => ../../go/lifehook
