package actors

import (
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/b7s-actor/b7s/messages"
)

// ResultCache keeps the results of finished requests by request ID, bounded, for the REST
// result endpoint and repeated lookups. It is safe for concurrent use.
type ResultCache struct {
	lru *lru.Cache[string, messages.ResultMap]
}

// NewResultCache returns a cache of at most size requests (size ≥ 1).
func NewResultCache(size int) *ResultCache {
	if size < 1 {
		size = 1
	}
	c, _ := lru.New[string, messages.ResultMap](size) // only fails for size < 1
	return &ResultCache{lru: c}
}

// Put records the results of requestID.
func (c *ResultCache) Put(requestID string, results messages.ResultMap) {
	if requestID == "" {
		return
	}
	c.lru.Add(requestID, results)
}

// Get returns the results of requestID.
func (c *ResultCache) Get(requestID string) (messages.ResultMap, bool) { return c.lru.Get(requestID) }
