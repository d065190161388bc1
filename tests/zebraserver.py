"""A real SRU server for tests: Index Data's Zebra (Debian idzebra-2.0, as Koha uses it).

The tests write MARCXML records, `ZebraServer` indexes them with `zebraidx` (the DOM filter,
with an XSLT that indexes the control number 001 as `Local-number`) and serves them with
`zebrasrv` on a free port of 127.0.0.1, answering SRU `searchRetrieve` with CQL `rec.id=...`
and the `marcxml` record schema, exactly as the partners' catalogues are asked in production.
Every file lives in the folder given; `stop()` always reaps the server.
"""

from __future__ import annotations

import glob
import shutil
import socket
import subprocess
import time
from pathlib import Path

STARTUP_TIMEOUT = 30  # seconds for zebrasrv to accept connections
STOP_TIMEOUT = 10

INDEX_XSL = """<?xml version="1.0" encoding="UTF-8"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:m="http://www.loc.gov/MARC21/slim" xmlns:z="http://indexdata.com/zebra-2.0">
  <xsl:output method="xml" encoding="UTF-8"/>
  <xsl:template match="/m:record">
    <xsl:variable name="cn" select="normalize-space(m:controlfield[@tag='001'])"/>
    <z:record z:id="{$cn}">
      <z:index name="Local-number:0"><xsl:value-of select="$cn"/></z:index>
      <z:index name="title:w">
        <xsl:value-of select="m:datafield[@tag='245' or @tag='200']/m:subfield[@code='a']"/>
      </z:index>
    </z:record>
  </xsl:template>
</xsl:stylesheet>
"""

IDENTITY_XSL = """<?xml version="1.0" encoding="UTF-8"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8"/>
  <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/>
  </xsl:copy></xsl:template>
</xsl:stylesheet>
"""

DOM_CONFIG = """<?xml version="1.0" encoding="UTF-8"?>
<dom xmlns="http://indexdata.com/zebra-2.0">
  <extract name="index"><xslt stylesheet="index.xsl"/></extract>
  <retrieve name="marcxml"><xslt stylesheet="identity.xsl"/></retrieve>
  <input syntax="xml"><xmlreader level="1"/></input>
</dom>
"""

# CQL → Zebra's type-1 query: rec.id is the control number, an exact key.
CQL2PQF = """set = info:srw/cql-context-set/1/cql-v1.1
set.cql = info:srw/cql-context-set/1/cql-v1.1
set.rec = info:srw/cql-context-set/2/rec-1.0
set.dc = info:srw/cql-context-set/1/dc-v1.1
index.cql.serverChoice = 1=title
index.rec.id = 1=Local-number 4=3
index.dc.title = 1=title
relation.= = 2=3
relation.eq = 2=3
relation.scr = 2=3
relation.exact = 2=3
position.any = 3=3 6=1
structure.* = 4=1
structure.exact = 4=3
structure.eq = 4=3
truncation.none = 5=100
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def zebra_available() -> bool:
    return bool(shutil.which("zebrasrv") and shutil.which("zebraidx") and _module_path())


def _module_path() -> str | None:
    found = sorted(glob.glob("/usr/lib/*/idzebra-2.0/modules") +
                   glob.glob("/usr/lib/idzebra-2.0/modules"))
    return found[0] if found else None


class ZebraServer:
    """zebrasrv on a free port of 127.0.0.1 serving the MARCXML `records` (a collection)."""

    def __init__(self, root: Path, records: bytes):
        self.root = Path(root)
        for sub in ("register", "tmp", "lock", "data"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "index.xsl").write_text(INDEX_XSL, "utf-8")
        (self.root / "identity.xsl").write_text(IDENTITY_XSL, "utf-8")
        (self.root / "dom-config.xml").write_text(DOM_CONFIG, "utf-8")
        (self.root / "cql2pqf.txt").write_text(CQL2PQF, "utf-8")
        (self.root / "zebra.cfg").write_text(
            f"profilePath: {self.root}:/usr/share/idzebra-2.0/tab\n"
            f"modulePath: {_module_path()}\n"
            f"recordtype: dom.{self.root / 'dom-config.xml'}\n"
            "attset: bib1.att\nattset: explain.att\n"
            f"register: {self.root / 'register'}:50M\n"
            f"keyTmpDir: {self.root / 'tmp'}\n"
            f"lockDir: {self.root / 'lock'}\n"
            "encoding: utf-8\n", "utf-8")
        self.port = _free_port()
        (self.root / "yazgfs.xml").write_text(f"""<?xml version="1.0"?>
<yazgfs>
  <listen id="local">tcp:127.0.0.1:{self.port}</listen>
  <server id="zebra" listenref="local">
    <config>{self.root / 'zebra.cfg'}</config>
    <cql2rpn>{self.root / 'cql2pqf.txt'}</cql2rpn>
    <retrievalinfo>
      <retrieval syntax="xml" name="marcxml" identifier="info:srw/schema/1/marcxml-v1.1"/>
    </retrievalinfo>
  </server>
</yazgfs>
""", "utf-8")
        (self.root / "data" / "records.xml").write_bytes(records)
        self.url = f"http://127.0.0.1:{self.port}/Default"
        cfg = str(self.root / "zebra.cfg")
        for args in (["init"], ["update", str(self.root / "data")], ["commit"]):
            done = subprocess.run(["zebraidx", "-c", cfg, *args], cwd=self.root,
                                  capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                raise RuntimeError(f"zebraidx {' '.join(args)} failed: {done.stderr[-2000:]}")
        self._log = open(self.root / "zebrasrv.log", "wb")
        self.process = subprocess.Popen(
            ["zebrasrv", "-f", str(self.root / "yazgfs.xml")], cwd=self.root,
            stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self._wait_until_listening()
        except BaseException:
            self.stop()
            raise

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"zebrasrv exited with {self.process.returncode}: "
                                   + (self.root / "zebrasrv.log").read_text(errors="replace"))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"zebrasrv did not listen on port {self.port} in {STARTUP_TIMEOUT}s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
