module direktiv-tls-e2e/tools/peers

go 1.24.0

require (
	golang.org/x/net v0.48.0
	google.golang.org/grpc v1.78.0
)

require (
	golang.org/x/sys v0.39.0 // indirect
	golang.org/x/text v0.32.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20251029180050-ab9386a59fda // indirect
	google.golang.org/protobuf v1.36.10 // indirect
)
