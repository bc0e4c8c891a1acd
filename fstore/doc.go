// Package fstore is the function store: it fetches a function's manifest, downloads and
// checks its archive, unpacks it safely, keeps one record per function in the node's bbolt
// database (bucket "functions", key = CID) and repairs installed functions (Sync).
//
// It owns, inside Config.Workspace:
//
//	<cid>/               the unpacked archive: the function's files, exposed to the executor
//	.archives/<cid>.tar.gz  the verified archive, kept so Sync can re-unpack without a download
//	.tmp/                work in progress; cleared when a Store opens
//
// The archive is kept apart from the function's folder (the original b7s put it inside), so
// the folder a function sees is exactly what its archive holds and can never collide with it.
//
// It is a plain library: no actors, no goroutines of its own, no global state, no retries.
// The installer actor owns install jobs: it decides when to install and from which manifest
// URL, runs one job per CID and answers everyone waiting for it, retries what IsTransient
// says is transient, logs each outcome and schedules Sync. The store only keeps two writers
// of one CID (two installs, an install and a sync repair) from overlapping; the one that
// waited finds the function installed and does nothing. Every network and disk step honours
// its context.
//
// It must never:
//   - write outside the workspace: downloads and unpacking happen in .tmp and are moved into
//     place with a rename only once complete and checked; paths are derived from a validated
//     CID, never from a stored record;
//   - trust archive paths: absolute names, names that climb out after cleaning, links that
//     resolve outside, device files and fifos are refused, and every write goes through an
//     os.Root confined to the unpack folder;
//   - trust sizes: manifest, archive, unpacked total and entry count are capped while reading,
//     before the data is written;
//   - install an archive whose SHA-256 does not match the manifest's deployment.checksum, or
//     one without a checksum;
//   - stop the node over one broken record: it is logged, skipped and reported by Sync.
//
// Differences from the original (spec §13 Q21, Q22): the manifest's HTTP status must be 200;
// the download has connect and idle timeouts instead of one 10 s limit for the whole transfer;
// hostile tar entries are refused instead of skipped or joined under the folder; a failed
// record save fails the install; Sync never fails the node because of one record.
package fstore
