#!/usr/bin/env python3
"""get_austen.py -- fetch the six Jane Austen novels used as training/eval corpora.

Recreates ../shared/data/austen-*.txt on a machine that lacks that folder, from the Debian
package r-cran-janeaustenr (1.0.0-1): `apt-get download` the .deb, `dpkg -x` it, and decode the
package's R lazy-load data (data/Rdata.rdx: gzip'd R-serialised index of offsets; data/Rdata.rdb:
per object a 4-byte big-endian length + zlib stream holding an R XDR-serialised character vector,
one element a line). Each novel is written as austen-<name>.txt, lines joined with "\n" plus a
final "\n", and its sha256 is printed. Python 3 standard library only.

usage: scripts/get_austen.py [OUTDIR] [--deb FILE.deb]   (OUTDIR defaults to <repo>/data)
"""
import argparse, bz2, glob, gzip, hashlib, lzma, os, struct, subprocess, sys, tempfile, zlib

NOVELS = ["emma", "mansfieldpark", "northangerabbey", "persuasion", "prideprejudice",
          "sensesensibility"]
PACKAGE = "r-cran-janeaustenr"

# R SEXP type codes (see R's serialize.c) for the items this reader understands.
NILSXP, SYMSXP, LISTSXP, LGLSXP, INTSXP, REALSXP, CHARSXP, STRSXP, VECSXP = 0, 1, 2, 10, 13, 14, 9, 16, 19
REFSXP, NILVALUE_SXP = 255, 254
NA_INT = -(2 ** 31)


class RDataError(Exception):
    pass


class XdrReader:
    """Minimal reader for R's XDR ('X\\n') serialisation format, versions 2 and 3."""

    def __init__(self, data):
        self.data, self.pos, self.refs = data, 0, []

    def take(self, n):
        if self.pos + n > len(self.data):
            raise RDataError("truncated R serialisation stream")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int(self):
        return struct.unpack(">i", self.take(4))[0]

    def length(self):
        n = self.int()
        if n == -1:  # long vector: two more ints give the 64-bit length
            hi, lo = self.int(), self.int()
            n = (hi << 32) + lo
        return n

    def read(self):
        if self.take(2) != b"X\n":
            raise RDataError("not an XDR R serialisation (expected 'X\\n' header)")
        version = self.int()
        self.int(), self.int()  # writer R version, minimal reader R version
        if version == 3:
            self.take(self.int())  # native encoding name, e.g. "UTF-8"
        elif version != 2:
            raise RDataError("unsupported R serialisation version %d" % version)
        return self.item()

    def item(self):
        flags = self.int()
        t, levels = flags & 0xFF, flags >> 12
        has_attr, has_tag = bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if t == NILVALUE_SXP:
            return None
        if t == REFSXP:
            idx = flags >> 8 or self.int()
            return self.refs[idx - 1]
        if t == SYMSXP:
            name = self.item()  # a CHARSXP
            self.refs.append(("symbol", name))
            return ("symbol", name)
        if t == LISTSXP:  # pairlist: read iteratively to avoid deep recursion
            out = []
            while True:
                if has_attr:
                    self.item()
                tag = self.item() if has_tag else None
                out.append((tag[1].decode() if tag else None, self.item()))
                flags = self.int()
                if flags & 0xFF == NILVALUE_SXP:
                    return out
                if flags & 0xFF != LISTSXP:
                    raise RDataError("pairlist ending in non-NIL item (type %d)" % (flags & 0xFF))
                has_attr, has_tag = bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if t == CHARSXP:
            n = self.int()
            if n == -1:
                return None  # NA_STRING
            raw = self.take(n)
            if levels & (1 << 2):  # LATIN1_MASK: re-encode as UTF-8
                return raw.decode("latin-1").encode("utf-8")
            return raw  # UTF-8, ASCII or native (UTF-8) bytes, kept as they are
        if t in (LGLSXP, INTSXP):
            n = self.length()
            value = [None if v == NA_INT else v for v in struct.unpack(">%di" % n, self.take(4 * n))]
        elif t == REALSXP:
            n = self.length()
            value = list(struct.unpack(">%dd" % n, self.take(8 * n)))
        elif t in (STRSXP, VECSXP):
            value = [self.item() for _ in range(self.length())]
        else:
            raise RDataError("unsupported R item type %d at byte %d" % (t, self.pos - 4))
        if has_attr:
            attrs = dict(self.item())
            if "names" in attrs:  # a named vector/list becomes a dict
                value = dict(zip((nm.decode() for nm in attrs["names"]), value))
        return value


def unserialize(data):
    return XdrReader(data).read()


def lazyload_object(rdb, offset, length, compressed):
    """Decompress one object of an R lazy-load .rdb file (R's lazyLoadDBfetch)."""
    blob = rdb[offset:offset + length]
    (outlen,) = struct.unpack(">I", blob[:4])
    body = blob[4:]
    if compressed in (2, 3):  # bzip2/xz databases carry a type byte per object
        kind, body = body[:1], body[1:]
        decompress = {b"Z": zlib.decompress, b"2": bz2.decompress,
                      b"X": lzma.decompress, b"0": bytes}[kind]
        out = decompress(body)
    else:
        out = zlib.decompress(body)
    if len(out) != outlen:
        raise RDataError("object at offset %d: expected %d bytes, got %d" % (offset, outlen, len(out)))
    return out


def fetch_deb(workdir):
    cmd = ["apt-get", "download", PACKAGE]
    if subprocess.run(cmd, cwd=workdir).returncode != 0:
        print("apt-get download failed; running apt-get update and retrying", file=sys.stderr)
        subprocess.run(["apt-get", "update"], check=True)
        subprocess.run(cmd, cwd=workdir, check=True)
    debs = glob.glob(os.path.join(workdir, PACKAGE + "_*.deb"))
    if len(debs) != 1:
        raise RDataError("expected one %s .deb in %s, found %d" % (PACKAGE, workdir, len(debs)))
    return debs[0]


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir", nargs="?", default=os.path.join(repo, "data"))
    ap.add_argument("--deb", help="use this already downloaded %s .deb" % PACKAGE)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="get_austen.") as tmp:
        deb = os.path.abspath(args.deb) if args.deb else fetch_deb(tmp)
        root = os.path.join(tmp, "root")
        subprocess.run(["dpkg", "-x", deb, root], check=True)
        found = glob.glob(os.path.join(root, "**", "janeaustenr", "data", "Rdata.rdx"), recursive=True)
        if len(found) != 1:
            raise RDataError("janeaustenr/data/Rdata.rdx not found in %s" % deb)
        with open(found[0], "rb") as f:
            index = unserialize(gzip.decompress(f.read()))
        with open(found[0][:-1] + "b", "rb") as f:  # Rdata.rdb
            rdb = f.read()

        variables, compressed = index["variables"], index["compressed"][0]
        missing = [n for n in NOVELS if n not in variables]
        if missing:
            raise RDataError("objects %s not in the index (have: %s)" % (missing, sorted(variables)))
        os.makedirs(args.outdir, exist_ok=True)
        for name in NOVELS:
            offset, length = variables[name]
            lines = unserialize(lazyload_object(rdb, offset, length, compressed))
            if not isinstance(lines, list) or not all(isinstance(s, bytes) or s is None for s in lines):
                raise RDataError("object %s is not a character vector" % name)
            text = b"\n".join(b"NA" if s is None else s for s in lines) + b"\n"
            path = os.path.join(args.outdir, "austen-%s.txt" % name)
            with open(path, "wb") as f:
                f.write(text)
            print("%s  %s  (%d lines, %d bytes)" % (hashlib.sha256(text).hexdigest(), path,
                                                   len(lines), len(text)))


if __name__ == "__main__":
    try:
        main()
    except (RDataError, subprocess.CalledProcessError, OSError) as e:
        sys.exit("get_austen.py: error: %s" % e)
