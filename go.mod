module github.com/fogkit/fogkit

go 1.25.0

require (
	github.com/ProtonMail/go-crypto v1.5.2
	github.com/cavaliergopher/cpio v1.0.1
	github.com/diskfs/go-diskfs v1.9.4
	github.com/dsnet/compress v0.0.0-20171208185109-cc9eb1d7ad76
	github.com/gabstv/go-bsdiff v1.0.5
	github.com/klauspost/compress v1.20.3
	github.com/stretchr/testify v1.12.1
	github.com/ulikunitz/xz v0.5.15
	github.com/vmware/govmomi v0.54.0
	golang.org/x/crypto v0.41.0
	golang.org/x/sys v0.43.0
)

require (
	github.com/cloudflare/circl v1.6.3 // indirect
	github.com/elliotwutingfeng/asciiset v0.0.0-20260129054604-cfde2086bc57 // indirect
	github.com/google/uuid v1.6.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
