module github.com/membergate/membergate

go 1.26

require (
	github.com/gophercloud/gophercloud/v2 v2.8.0
	github.com/gophercloud/utils/v2 v2.0.0-20241220104409-2e0af06694a1
	github.com/membergate/membergate/pkg/memberwait v0.0.0
	gopkg.in/yaml.v3 v3.0.1
	k8s.io/utils v0.0.0-20231127182322-b307cd553661
)

require (
	github.com/gofrs/uuid/v5 v5.3.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
	golang.org/x/text v0.21.0 // indirect
)

replace github.com/membergate/membergate/pkg/memberwait => ./pkg/memberwait
