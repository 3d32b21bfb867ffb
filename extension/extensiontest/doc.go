// Package extensiontest is for testing Runtime Extensions over real TLS, as
// net/http/httptest is for handlers: a throw-away CA, and a client that
// discovers and calls an extension the way Cluster API's runtime client does
// (CAPI's own lives in an internal package and cannot be imported).
package extensiontest
