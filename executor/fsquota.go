package executor

import (
	"io"
	"io/fs"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// entryCost is what each file, directory or hard link the guest creates is charged against
// its quota: about one block of a directory and an inode on common filesystems. It bounds how
// many entries a guest can make (16,384 within the default 64 MiB), which byte counts alone
// would not: empty files cost no bytes but do cost inodes.
const entryCost = 4096

// fsQuota is one execution's disk quota (Config.MaxFSBytes), held while the guest writes.
//
// What it counts is how far the guest has grown the filesystem root: for each file, its size
// past what it was when the guest first saw it (so files the node put there beforehand are
// free, and rewriting bytes in place costs nothing), plus entryCost per entry the guest
// created. Sizes are apparent sizes: a write far past the end of a file, a truncate or an
// fd_allocate that extends it is charged for the whole extension, although the filesystem
// may store it sparse, because the guest could later fill it without growing it. Deleting
// gives back what the entry cost; a file's bytes come back when its last name is gone and
// no handle holds it open (until then it still takes disk).
//
// An operation that would go past the quota fails with nospc, the WASI error of a full disk
// (wazero's errors have no ENOSPC: the refusal is EIO inside wazero, and the WASI functions
// turn it into nospc for the guest, see instantiateWASI); a write that only partly fits
// writes what fits and reports that count, as a filling disk does, and the next one fails. Every growth goes through the FS and File methods here: WASI's
// fd_write/fd_pwrite (Write, Pwrite), fd_allocate and fd_filestat_set_size (Truncate),
// path_open with O_CREAT or O_TRUNC (OpenFile), path_create_directory (Mkdir), path_link
// (Link), path_rename over an existing entry (Rename), path_unlink_file and
// path_remove_directory (Unlink, Rmdir). Symlinks cannot be created at all (fsRoot).
//
// Files are told apart by device and inode, so two handles or two names of one file share
// one record. A write asks the system for the file's offset (an lseek): following it through
// Seek ourselves would need a method go vet refuses (Seek returning Errno, not error). Only the
// goroutine running the guest uses it.
type fsQuota struct {
	limit    int64
	used     int64
	exceeded bool // the guest reached the quota: an operation was refused or cut short
	// refused is set by a refusal; the WASI function that made the call reads and clears it.
	refused bool
	files   map[fileKey]*quotaRecord
}

type fileKey struct {
	dev uint64
	ino sys.Inode
}

// quotaRecord is what the quota knows of one file or directory.
type quotaRecord struct {
	base    int64 // size when the guest first saw it; growth past it is charged
	size    int64 // size as the guest's operations left it
	entries int   // entries (names) the guest created for it that still exist
	open    int   // handles the guest holds
	gone    bool  // its last name was removed: its bytes are given back at its last close
}

func newFSQuota(limit int64) *fsQuota {
	return &fsQuota{limit: limit, files: make(map[fileKey]*quotaRecord)}
}

func keyOf(st sys.Stat_t) fileKey { return fileKey{dev: st.Dev, ino: st.Ino} }

// charged is what a record of the given size costs beyond its entries.
func (r *quotaRecord) charged(size int64) int64 { return max(0, size-r.base) }

// room is what is left.
func (q *fsQuota) room() int64 { return max(0, q.limit-q.used) }

// refuse records a refusal and returns the errno the guest will see as nospc.
func (q *fsQuota) refuse() experimentalsys.Errno {
	q.exceeded, q.refused = true, true
	return experimentalsys.EIO
}

// chargeEntry takes one entry's cost, or refuses.
func (q *fsQuota) chargeEntry() experimentalsys.Errno {
	if q.room() < entryCost {
		return q.refuse()
	}
	q.used += entryCost
	return 0
}

func (q *fsQuota) refundEntry() { q.used -= entryCost }

// record returns the record of the file st describes, creating it with base size base.
func (q *fsQuota) record(st sys.Stat_t, base int64) *quotaRecord {
	k := keyOf(st)
	r, ok := q.files[k]
	if !ok {
		r = &quotaRecord{base: base, size: st.Size}
		q.files[k] = r
	}
	return r
}

// resize sets r's size, charging or giving back the difference.
func (q *fsQuota) resize(r *quotaRecord, size int64) {
	q.used += r.charged(size) - r.charged(r.size)
	r.size = size
}

// removed accounts for an entry of the file st describes being gone (unlinked, removed or
// renamed over).
func (q *fsQuota) removed(st sys.Stat_t) {
	k := keyOf(st)
	r, ok := q.files[k]
	if !ok {
		return // never seen: the node's, charged nothing
	}
	if r.entries > 0 {
		r.entries--
		q.refundEntry()
	}
	if st.Mode.IsDir() || st.Nlink <= 1 {
		r.gone = true
	}
	q.release(k, r)
}

// release forgets a gone record once no handle holds it, giving its bytes back.
func (q *fsQuota) release(k fileKey, r *quotaRecord) {
	if r.gone && r.open == 0 {
		q.used -= r.charged(r.size)
		delete(q.files, k)
	}
}

// openFile opens path on fs for the guest. Regular files come back wrapped, so that their
// growth is charged.
func (q *fsQuota) openFile(fsys experimentalsys.FS, path string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	var before sys.Stat_t
	known, existed, created := false, true, false
	if flag&(experimentalsys.O_CREAT|experimentalsys.O_TRUNC) != 0 {
		var errno experimentalsys.Errno
		before, errno = fsys.Lstat(path)
		known = errno == 0
		if errno == experimentalsys.ENOENT && flag&experimentalsys.O_CREAT != 0 {
			if errno := q.chargeEntry(); errno != 0 {
				return nil, errno
			}
			existed, created = false, true
		}
	}
	f, errno := fsys.OpenFile(path, flag, perm)
	if errno != 0 {
		if created {
			q.refundEntry()
		}
		return nil, errno
	}
	st, errno := f.Stat()
	if errno != 0 {
		_ = f.Close()
		if created {
			q.refundEntry()
		}
		return nil, errno
	}
	if !st.Mode.IsRegular() {
		return f, 0
	}
	base := int64(0)
	if existed {
		// The size before an O_TRUNC, when known: truncating the node's file gains nothing.
		base = st.Size
		if known && before.Mode.IsRegular() && keyOf(before) == keyOf(st) {
			base = before.Size
		}
	}
	r := q.record(st, base)
	if created {
		r.entries++
	}
	q.resize(r, st.Size) // O_TRUNC on a file already known
	r.open++
	return &quotaFile{File: f, q: q, r: r, key: keyOf(st)}, 0
}

// quotaFile is a regular file the guest opened: writes, truncates and allocations that grow it
// are charged to the quota.
type quotaFile struct {
	experimentalsys.File
	q      *fsQuota
	r      *quotaRecord
	key    fileKey
	closed bool
}

// fit is how many of n bytes written at off fit in the quota.
func (f *quotaFile) fit(off int64, n int) (int, experimentalsys.Errno) {
	if n == 0 || off < 0 {
		return n, 0 // nothing to charge; the file says what is wrong with a negative offset
	}
	// The file may reach this end without going past the quota.
	reach := max(f.r.size, f.r.base) + f.q.room()
	if off+int64(n) <= reach {
		return n, 0
	}
	if off >= reach {
		return 0, f.q.refuse()
	}
	f.q.exceeded = true // a short write: the next one fails
	return int(reach - off), 0
}

// wrote charges n bytes written at off.
func (f *quotaFile) wrote(off int64, n int) {
	if end := off + int64(n); n > 0 && end > f.r.size {
		f.q.resize(f.r, end)
	}
}

// Write implements experimentalsys.File. It lands at the file's offset, or at its end in
// append mode.
func (f *quotaFile) Write(buf []byte) (int, experimentalsys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	off := f.r.size
	if !f.File.IsAppend() {
		var errno experimentalsys.Errno
		if off, errno = f.File.Seek(0, io.SeekCurrent); errno != 0 {
			return 0, errno
		}
	}
	n, errno := f.fit(off, len(buf))
	if errno != 0 {
		return 0, errno
	}
	n, errno = f.File.Write(buf[:n])
	f.wrote(off, n)
	return n, errno
}

// Pwrite implements experimentalsys.File. In append mode it lands at the end, as on Linux.
func (f *quotaFile) Pwrite(buf []byte, off int64) (int, experimentalsys.Errno) {
	at := off
	if f.File.IsAppend() {
		at = f.r.size
	}
	n, errno := f.fit(at, len(buf))
	if errno != 0 {
		return 0, errno
	}
	n, errno = f.File.Pwrite(buf[:n], off)
	f.wrote(at, n)
	return n, errno
}

// Truncate implements experimentalsys.File; fd_allocate and fd_filestat_set_size end here.
func (f *quotaFile) Truncate(size int64) experimentalsys.Errno {
	if size >= 0 && f.r.charged(size)-f.r.charged(f.r.size) > f.q.room() {
		return f.q.refuse()
	}
	if errno := f.File.Truncate(size); errno != 0 {
		return errno
	}
	f.q.resize(f.r, size)
	return 0
}

// Close implements experimentalsys.File.
func (f *quotaFile) Close() experimentalsys.Errno {
	errno := f.File.Close()
	if !f.closed {
		f.closed = true
		f.r.open--
		f.q.release(f.key, f.r)
	}
	return errno
}

// IsNonblock implements experimentalsys.PollableFile when the file does.
func (f *quotaFile) IsNonblock() bool {
	if pf, ok := f.File.(experimentalsys.PollableFile); ok {
		return pf.IsNonblock()
	}
	return false
}

// SetNonblock implements experimentalsys.PollableFile when the file does.
func (f *quotaFile) SetNonblock(enable bool) experimentalsys.Errno {
	if pf, ok := f.File.(experimentalsys.PollableFile); ok {
		return pf.SetNonblock(enable)
	}
	return experimentalsys.ENOSYS
}

// Poll implements experimentalsys.Pollable when the file does.
func (f *quotaFile) Poll(flag experimentalsys.Pflag, timeoutMillis int32) (bool, experimentalsys.Errno) {
	if p, ok := f.File.(experimentalsys.Pollable); ok {
		return p.Poll(flag, timeoutMillis)
	}
	return false, experimentalsys.ENOSYS
}
