package fstore

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"time"

	"go.etcd.io/bbolt"
)

// bucketFunctions holds one Record per function, keyed by CID, in the node's database.
var bucketFunctions = []byte("functions")

// archivesDir and tmpDir live in the workspace next to the function folders; a CID never
// starts with a dot, so they cannot collide with one.
const (
	archivesDir = ".archives"
	tmpDir      = ".tmp"
)

// Record is what the store keeps about an installed function: the spec's FunctionRecord
// (§7.4) plus the archive's SHA-256 and the install time.
type Record struct {
	CID      string   `json:"cid"`
	URL      string   `json:"url"` // manifest URL
	Manifest Manifest `json:"manifest"`
	// Archive and Files are relative to the workspace, with a leading "/". They are derived
	// from the CID and checked on load; the store never uses them to find what to delete.
	Archive       string    `json:"archive"`
	Files         string    `json:"files"`
	UpdatedAt     time.Time `json:"updated_at"`
	LastRetrieved time.Time `json:"last_retrieved"`

	SHA256      string    `json:"sha256"` // hex SHA-256 of the archive
	InstalledAt time.Time `json:"installed_at"`
}

// validCID accepts what can name a function folder: CIDs (base32/base58) and the hex SHA-256
// the REST install by uri uses. It never starts with a dot and never holds a separator.
var validCID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$`)

// reservedNames are folders the node keeps in the workspace for itself: the executor's
// per-execution roots live under "t". Names starting with a dot cannot be CIDs anyway.
var reservedNames = map[string]bool{"t": true}

func checkCID(cid string) error {
	if !validCID.MatchString(cid) || reservedNames[cid] {
		return fmt.Errorf("%w: %q", ErrInvalidCID, cid)
	}
	return nil
}

// Paths relative to the workspace, as stored in the record.
func filesRel(cid string) string   { return "/" + cid }
func archiveRel(cid string) string { return "/" + path.Join(archivesDir, cid+".tar.gz") }

// decodeRecord decodes and checks a stored record; key is its bbolt key.
func decodeRecord(key, value []byte) (Record, error) {
	cid := string(key)
	var rec Record
	if err := json.Unmarshal(value, &rec); err != nil {
		return Record{}, fmt.Errorf("record %q: %w: %v", cid, ErrBadRecord, err)
	}
	if err := checkCID(cid); err != nil {
		return Record{}, fmt.Errorf("record %q: %w: %v", cid, ErrBadRecord, err)
	}
	switch {
	case rec.CID != cid:
		return Record{}, fmt.Errorf("record %q: %w: cid field is %q", cid, ErrBadRecord, rec.CID)
	case rec.Files != filesRel(cid):
		return Record{}, fmt.Errorf("record %q: %w: files is %q, want %q", cid, ErrBadRecord, rec.Files, filesRel(cid))
	case rec.Archive != archiveRel(cid):
		return Record{}, fmt.Errorf("record %q: %w: archive is %q, want %q", cid, ErrBadRecord, rec.Archive, archiveRel(cid))
	}
	if sum, err := hex.DecodeString(rec.SHA256); err != nil || len(sum) != 32 {
		return Record{}, fmt.Errorf("record %q: %w: sha256 %q is not a hex sha256", cid, ErrBadRecord, rec.SHA256)
	}
	return rec, nil
}

func (s *Store) saveRecord(rec Record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("save record %s: %w", rec.CID, err)
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketFunctions)
		if err != nil {
			return err
		}
		return b.Put([]byte(rec.CID), data)
	})
	if err != nil {
		return fmt.Errorf("save record %s: %w", rec.CID, err)
	}
	return nil
}

// loadRecords reads every record; broken ones are returned apart, keyed by their CID.
func (s *Store) loadRecords() (good []Record, broken map[string]error, err error) {
	broken = make(map[string]error)
	err = s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketFunctions)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				broken[string(k)] = fmt.Errorf("record %q: %w: nested bucket", k, ErrBadRecord)
				return nil
			}
			rec, err := decodeRecord(k, v)
			if err != nil {
				broken[string(k)] = err
				return nil
			}
			good = append(good, rec)
			return nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load records: %w", err)
	}
	return good, broken, nil
}
