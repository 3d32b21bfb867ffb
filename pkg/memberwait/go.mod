module github.com/membergate/membergate/pkg/memberwait

go 1.22

require (
	github.com/gophercloud/gophercloud/v2 v2.1.0
	k8s.io/utils v0.0.0-20231127182322-b307cd553661
)
