// Wrapper for etcd v3.5.21 (cachemesh e2e tools, built by ../build.sh).
//
// The etcd binary's main package lives in the repository's root module (go.etcd.io/etcd/v3,
// main.go: `etcdmain.Main(os.Args)`), whose go.mod replaces its sibling modules with local
// directories, so `go install` refuses it. This module does what that main.go does, with the
// siblings (api, client/pkg, client/v2, client/v3, pkg, raft, server) required at the same
// release instead of replaced (go.mod).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
