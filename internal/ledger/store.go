package ledger

import (
	"bytes"
	"fmt"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/google/btree"
	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// OpenLevelDB opens (or creates) the ledger's goleveldb store NAME.db in dir, with a block
// cache large enough that reads of a big state (100,000s of subscriptions) stay in memory.
func OpenLevelDB(name, dir string) (dbm.DB, error) {
	return dbm.NewGoLevelDBWithOpts(name, dir, &opt.Options{
		BlockCacheCapacity: 64 << 20,
		WriteBuffer:        16 << 20,
		Filter:             filter.NewBloomFilter(10), // most Gets at commit are for new keys
	})
}

// KV is the ordered key-value view the state machine reads and writes. Storage failures
// are not recoverable inside a block (the node must stop rather than diverge), so they
// panic; the ABCI adapter turns a panic into a crash.
type KV interface {
	Get(key []byte) []byte // nil when absent
	Set(key, value []byte)
	Delete(key []byte)
	// Iterate calls fn for every key in [start, end) in ascending byte order until fn
	// returns false. end == nil means no upper bound. fn must not write to the KV.
	Iterate(start, end []byte, fn func(key, value []byte) bool)
}

// dbKV is a read/write view of a cometbft-db database (goleveldb on disk, memdb in tests).
// The ledger only reads through it: writes reach the database in one batch at Commit.
type dbKV struct{ db dbm.DB }

func (d dbKV) Get(key []byte) []byte {
	v, err := d.db.Get(key)
	if err != nil {
		panic(fmt.Errorf("ledger store: get: %w", err))
	}
	return v
}

func (d dbKV) Set(key, value []byte) { panic("ledger store: write to the committed view") }
func (d dbKV) Delete(key []byte)     { panic("ledger store: write to the committed view") }

func (d dbKV) Iterate(start, end []byte, fn func(key, value []byte) bool) {
	it, err := d.db.Iterator(start, end)
	if err != nil {
		panic(fmt.Errorf("ledger store: iterate: %w", err))
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		if !fn(it.Key(), it.Value()) {
			return
		}
	}
	if err := it.Error(); err != nil {
		panic(fmt.Errorf("ledger store: iterate: %w", err))
	}
}

// entry is a pending write in a cache: a new value or a deletion.
type entry struct {
	key     []byte
	value   []byte
	deleted bool
}

func entryLess(a, b *entry) bool { return bytes.Compare(a.key, b.key) < 0 }

// cache buffers writes over a parent KV in an ordered tree, so that a transaction (or a
// block) can be applied with Write or thrown away. Reads and iteration see the buffered
// writes merged with the parent.
type cache struct {
	parent KV
	tree   *btree.BTreeG[*entry]
}

func newCache(parent KV) *cache {
	return &cache{parent: parent, tree: btree.NewG(16, entryLess)}
}

func (c *cache) Get(key []byte) []byte {
	if e, ok := c.tree.Get(&entry{key: key}); ok {
		if e.deleted {
			return nil
		}
		return e.value
	}
	return c.parent.Get(key)
}

func (c *cache) Set(key, value []byte) {
	if value == nil {
		value = []byte{}
	}
	c.tree.ReplaceOrInsert(&entry{key: bytes.Clone(key), value: value})
}

func (c *cache) Delete(key []byte) {
	c.tree.ReplaceOrInsert(&entry{key: bytes.Clone(key), deleted: true})
}

// ascend visits the cache's own entries in [start, end).
func (c *cache) ascend(start, end []byte, fn func(e *entry) bool) {
	if end == nil {
		c.tree.AscendGreaterOrEqual(&entry{key: start}, fn)
		return
	}
	c.tree.AscendRange(&entry{key: start}, &entry{key: end}, fn)
}

func (c *cache) Iterate(start, end []byte, fn func(key, value []byte) bool) {
	var own []*entry
	c.ascend(start, end, func(e *entry) bool { own = append(own, e); return true })
	i, stopped := 0, false
	// emit sends the cache's entries ordered before key (all of them for key == nil).
	emit := func(key []byte) bool {
		for ; i < len(own) && (key == nil || bytes.Compare(own[i].key, key) < 0); i++ {
			if !own[i].deleted && !fn(own[i].key, own[i].value) {
				return false
			}
		}
		return true
	}
	c.parent.Iterate(start, end, func(k, v []byte) bool {
		if !emit(k) {
			stopped = true
			return false
		}
		if i < len(own) && bytes.Equal(own[i].key, k) {
			e := own[i]
			i++
			if e.deleted {
				return true
			}
			if !fn(e.key, e.value) {
				stopped = true
				return false
			}
			return true
		}
		if !fn(k, v) {
			stopped = true
			return false
		}
		return true
	})
	if !stopped {
		emit(nil)
	}
}

// Write applies the buffered writes to the parent and empties the cache.
func (c *cache) Write() {
	c.tree.Ascend(func(e *entry) bool {
		if e.deleted {
			c.parent.Delete(e.key)
		} else {
			c.parent.Set(e.key, e.value)
		}
		return true
	})
	c.tree.Clear(false)
}

// Len is the number of buffered writes.
func (c *cache) Len() int { return c.tree.Len() }

// prefixEnd is the smallest key greater than every key starting with prefix (nil if none).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// iteratePrefix is Iterate over all keys starting with prefix.
func iteratePrefix(kv KV, prefix []byte, fn func(key, value []byte) bool) {
	kv.Iterate(prefix, prefixEnd(prefix), fn)
}
