package actors

import (
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/b7s-actor/b7s/messages"
)

// resultCache keeps the results of finished requests by request ID, bounded, for the REST
// result endpoint and repeated lookups. It is safe for concurrent use.
type resultCache struct {
	lru *lru.Cache[string, messages.ResultMap]
}

// newResultCache returns a cache of at most size requests (size ≥ 1).
func newResultCache(size int) *resultCache {
	if size < 1 {
		size = 1
	}
	c, _ := lru.New[string, messages.ResultMap](size) // only fails for size < 1
	return &resultCache{lru: c}
}

// put records the results of requestID.
func (c *resultCache) put(requestID string, results messages.ResultMap) {
	if requestID == "" {
		return
	}
	c.lru.Add(requestID, results)
}

// get returns the results of requestID.
func (c *resultCache) get(requestID string) (messages.ResultMap, bool) { return c.lru.Get(requestID) }
