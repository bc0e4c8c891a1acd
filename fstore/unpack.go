package fstore

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// unpackLimits bound what one archive may put on disk.
type unpackLimits struct {
	maxBytes int64 // total size of regular files
	maxFiles int   // entries of any kind
}

// streamCap bounds the decompressed tar stream itself, so that entries whose data is skipped
// (or padding) cannot make us inflate forever without writing anything.
func (l unpackLimits) streamCap() int64 {
	c := l.maxBytes + int64(l.maxFiles)*4096 + 8<<20
	if c < 0 {
		return math.MaxInt64
	}
	return c
}

// unpackStats describe an unpacked tree.
type unpackStats struct {
	entries int // archive entries and the directories made for their names
	bytes   int64
}

// count adds n entries, failing once they are more than the limit allows.
func (st *unpackStats) count(n int, lim unpackLimits) error {
	if st.entries += n; st.entries > lim.maxFiles {
		return fmt.Errorf("%w: more than %d entries", ErrTooLarge, lim.maxFiles)
	}
	return nil
}

// unpack extracts the gzip+tar stream r into dir, an existing empty directory. Every write
// goes through an os.Root opened on dir, so even a crafted chain of links cannot make a write
// land outside it. Entries are checked before anything is written for them:
//   - names must be relative and stay inside dir after cleaning;
//   - only directories, regular files, symlinks and hardlinks are accepted;
//   - links must resolve inside dir (symlinks are resolved again once everything is written);
//   - the declared sizes and the entry count are checked against the limits before writing;
//     a directory made for an entry's name counts as an entry, so one deep name cannot create
//     hundreds of directories on one entry's share of the limit.
func unpack(ctx context.Context, r io.Reader, dir string, lim unpackLimits) (unpackStats, error) {
	var st unpackStats
	root, err := os.OpenRoot(dir)
	if err != nil {
		return st, fmt.Errorf("unpack: %w", err)
	}
	defer root.Close()

	gz, err := gzip.NewReader(r)
	if err != nil {
		return st, fmt.Errorf("unpack: %w: not gzip: %v", ErrBadArchive, err)
	}
	defer gz.Close()
	stream := &capReader{r: gz, remaining: lim.streamCap()}
	tr := tar.NewReader(stream)

	var symlinks []string
	targets := make(map[string]string) // symlink -> target, for the check that does not depend on where the folder is
	dirs := make(map[string]bool)      // directories known to exist, so parents are looked up once
	for {
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("unpack: %w", err)
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, stream.explain(err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return st, fmt.Errorf("unpack: %w", err)
		}
		if name == "." {
			if hdr.Typeflag == tar.TypeDir {
				continue
			}
			return st, fmt.Errorf("unpack: %w: %q: non-directory entry for the root", ErrUnsafeArchive, hdr.Name)
		}
		if err := st.count(1, lim); err != nil {
			return st, fmt.Errorf("unpack: %w", err)
		}
		if err := mkParents(root, name, dirs, &st, lim); err != nil {
			return st, fmt.Errorf("unpack %q: %w", hdr.Name, err)
		}

		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := mkDir(root, name); err != nil {
				return st, fmt.Errorf("unpack %q: %w", hdr.Name, err)
			}
			dirs[name] = true
		case tar.TypeReg, '\x00':
			if hdr.Size < 0 || hdr.Size > lim.maxBytes-st.bytes {
				return st, fmt.Errorf("unpack: %w: %q (%d bytes) takes the unpacked size over %d bytes",
					ErrTooLarge, hdr.Name, hdr.Size, lim.maxBytes)
			}
			src := &readErrRecorder{r: &ctxReader{ctx: ctx, r: tr}}
			n, err := writeFile(root, name, fileMode(hdr), src)
			st.bytes += n
			if src.err != nil {
				return st, stream.explain(src.err)
			}
			if err != nil {
				return st, fmt.Errorf("unpack %q: %w", hdr.Name, err)
			}
		case tar.TypeSymlink:
			if err := checkSymlink(name, hdr.Linkname); err != nil {
				return st, fmt.Errorf("unpack: %w", err)
			}
			if err := root.Symlink(hdr.Linkname, name); err != nil {
				return st, fmt.Errorf("unpack %q: %w", hdr.Name, fsErr(err))
			}
			symlinks = append(symlinks, name)
			targets[name] = hdr.Linkname
		case tar.TypeLink:
			target, err := entryName(hdr.Linkname)
			if err != nil || target == "." {
				return st, fmt.Errorf("unpack: %w: hardlink %q -> %q leaves the function folder", ErrUnsafeArchive, hdr.Name, hdr.Linkname)
			}
			fi, err := root.Lstat(target)
			if err != nil || !fi.Mode().IsRegular() {
				return st, fmt.Errorf("unpack: %w: hardlink %q -> %q: target is not a regular file of the archive", ErrUnsafeArchive, hdr.Name, hdr.Linkname)
			}
			if err := root.Link(target, name); err != nil {
				return st, fmt.Errorf("unpack %q: %w", hdr.Name, fsErr(err))
			}
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			return st, fmt.Errorf("unpack: %w: %q is a device file or fifo", ErrUnsafeArchive, hdr.Name)
		default:
			return st, fmt.Errorf("unpack: %w: %q has unsupported type %q", ErrUnsafeArchive, hdr.Name, hdr.Typeflag)
		}
	}
	if err := checkSymlinksResolveInside(dir, symlinks); err != nil {
		return st, fmt.Errorf("unpack: %w", err)
	}
	for _, l := range symlinks {
		if !staysInside(targets, l) {
			return st, fmt.Errorf("unpack: %w: symlink %q climbs out of the function folder through other links", ErrUnsafeArchive, l)
		}
	}
	return st, nil
}

// staysInside resolves the path name inside the folder by the archive's own symlinks, one part at
// a time, as the kernel would, and reports whether it ever climbs above the folder. Unlike
// resolving on disk it does not depend on where the folder is: the tree is checked in a
// temporary folder and then moved, and "d -> ., e -> d/../x" looks inside in one place and
// points next to the function in the other.
func staysInside(links map[string]string, name string) bool {
	parts := strings.Split(name, "/")
	var at []string // the resolved path so far, from the folder's root
	for hops := 0; len(parts) > 0; {
		p := parts[0]
		parts = parts[1:]
		switch p {
		case "", ".":
			continue
		case "..":
			if len(at) == 0 {
				return false
			}
			at = at[:len(at)-1]
			continue
		}
		at = append(at, p)
		target, isLink := links[strings.Join(at, "/")]
		if !isLink {
			continue
		}
		if hops++; hops > 40 || strings.HasPrefix(target, "/") {
			return false // a loop, or absolute
		}
		at = at[:len(at)-1] // the link is replaced by its target, read from the link's folder
		parts = append(strings.Split(target, "/"), parts...)
	}
	return true
}

// entryName cleans an archive path; it must be relative and stay inside the folder.
func entryName(raw string) (string, error) {
	if raw == "" || strings.ContainsRune(raw, 0) {
		return "", fmt.Errorf("%w: empty or invalid entry name %q", ErrUnsafeArchive, raw)
	}
	if strings.HasPrefix(raw, "/") || filepath.IsAbs(raw) || filepath.VolumeName(raw) != "" {
		return "", fmt.Errorf("%w: %q is an absolute path", ErrUnsafeArchive, raw)
	}
	clean := path.Clean(raw)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("%w: %q leaves the function folder", ErrUnsafeArchive, raw)
	}
	return clean, nil
}

// checkSymlink accepts relative targets that stay inside the folder when read from the link's
// directory.
func checkSymlink(name, target string) error {
	if target == "" || strings.HasPrefix(target, "/") || filepath.IsAbs(target) {
		return fmt.Errorf("%w: symlink %q -> %q: absolute or empty target", ErrUnsafeArchive, name, target)
	}
	resolved := path.Join(path.Dir(name), target)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("%w: symlink %q -> %q leaves the function folder", ErrUnsafeArchive, name, target)
	}
	return nil
}

// checkSymlinksResolveInside follows every symlink on disk: chains of individually harmless
// links (a -> ., b -> a/..) can still point out, and only the finished tree tells.
func checkSymlinksResolveInside(dir string, links []string) error {
	if len(links) == 0 {
		return nil
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	for _, l := range links {
		real, err := filepath.EvalSymlinks(filepath.Join(dir, filepath.FromSlash(l)))
		if err != nil {
			return fmt.Errorf("%w: symlink %q does not resolve inside the function folder: %v", ErrUnsafeArchive, l, err)
		}
		rel, err := filepath.Rel(realDir, real)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("%w: symlink %q resolves to %s, outside the function folder", ErrUnsafeArchive, l, real)
		}
	}
	return nil
}

// mkDir makes the directory name, or accepts it when one is there already (archives often list a
// directory after the files in it). Anything else there, a symlink to a directory included, is a
// bad archive: the tree would not be what the archive says, and the sync check would fail it.
func mkDir(root *os.Root, name string) error {
	fi, err := root.Lstat(name)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("%w: directory entry over an earlier entry of another kind (%v)", ErrBadArchive, fi.Mode().Type())
	case !errors.Is(err, fs.ErrNotExist):
		return fsErr(err)
	}
	return fsErr(root.Mkdir(name, 0o755))
}

// mkParents makes the missing directories above name, counting each as an entry. dirs holds the
// paths known to exist: nothing an archive does removes one or puts another in its place.
func mkParents(root *os.Root, name string, dirs map[string]bool, st *unpackStats, lim unpackLimits) error {
	parent := path.Dir(name)
	if parent == "." || dirs[parent] {
		return nil
	}
	for i := 0; i <= len(parent); i++ {
		if i < len(parent) && parent[i] != '/' {
			continue
		}
		dir := parent[:i]
		if dirs[dir] {
			continue
		}
		_, err := root.Lstat(dir)
		switch {
		case err == nil:
			// There already: made by an earlier entry, or an entry of another type, which the
			// next step through it refuses.
		case errors.Is(err, fs.ErrNotExist):
			if err := st.count(1, lim); err != nil {
				return err
			}
			if err := root.Mkdir(dir, 0o755); err != nil {
				return fsErr(err)
			}
		default:
			return fsErr(err)
		}
		dirs[dir] = true
	}
	return nil
}

func writeFile(root *os.Root, name string, mode os.FileMode, r io.Reader) (int64, error) {
	f, err := root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return 0, fsErr(err)
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// fileMode keeps only the executable bit of the archive's mode; no setuid, no world-writable.
func fileMode(hdr *tar.Header) os.FileMode {
	if hdr.Mode&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

// fsErr labels filesystem errors caused by the archive's shape: an escaping link is an unsafe
// archive, duplicates and paths through files a bad one; local trouble (disk full, I/O) stays
// as it is.
func fsErr(err error) error {
	if err == nil {
		return nil
	}
	for _, local := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EIO, syscall.EROFS, syscall.EMFILE, syscall.ENFILE} {
		if errors.Is(err, local) {
			return err
		}
	}
	// os.Root refuses to follow a link out of the folder; its error is not exported.
	if strings.Contains(err.Error(), "path escapes from parent") {
		return fmt.Errorf("%w: %v", ErrUnsafeArchive, err)
	}
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%w: duplicate entry: %v", ErrBadArchive, err)
	}
	return fmt.Errorf("%w: %v", ErrBadArchive, err)
}

// capReader fails once more than remaining bytes were read.
type capReader struct {
	r         io.Reader
	remaining int64
	exceeded  bool
}

var errStreamCap = errors.New("decompressed archive stream over its cap")

func (c *capReader) Read(b []byte) (int, error) {
	if c.remaining <= 0 {
		c.exceeded = true
		return 0, errStreamCap
	}
	if int64(len(b)) > c.remaining {
		b = b[:c.remaining]
	}
	n, err := c.r.Read(b)
	c.remaining -= int64(n)
	return n, err
}

// explain labels a tar/gzip error: over the stream cap, or a corrupt archive.
func (c *capReader) explain(err error) error {
	if c.exceeded || errors.Is(err, errStreamCap) {
		return fmt.Errorf("unpack: %w: decompressed stream is too large", ErrTooLarge)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("unpack: %w", err)
	}
	return fmt.Errorf("unpack: %w: %v", ErrBadArchive, err)
}

// ctxReader stops a long copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}
