#!/usr/bin/env python3
"""Memory per idle connection (issue 18).

    python3 bench/idle_connections.py HOST PORT N PID[,PID...] PATH PKI_DIR

Opens N mTLS keep-alive connections to HOST:PORT (client certificate
PKI_DIR/officer.pem, CA PKI_DIR/ca.pem — the files `bench/compare.sh`
leaves in its work dir with KEEP=1), sends one GET PATH on each, keeps them
all open, and prints the resident memory the proxy's processes (the PIDs
and their children) gained per connection, and how many connections the
server still holds (`ss`). Raise the proxy's idle and header-read
timeouts and its connection limit above N first, and `ulimit -n` on both
sides. Set NOREQ=1 to measure connections that only completed the
handshake.
"""
import asyncio, ssl, sys, os, time, resource
host, port, n, pids, path, pki = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [int(p) for p in sys.argv[4].split(',')], sys.argv[5], sys.argv[6]
W = pki.rstrip('/') + '/'
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
ctx = ssl.create_default_context(cafile=W+'ca.pem')
ctx.load_cert_chain(W+'officer.pem', W+'officer.key')
ctx.check_hostname = False
def rss(pid_list):
    tot = 0
    for p in pid_list:
        kids = [p]
        try:
            for t in os.listdir(f'/proc/{p}/task'):
                for c in open(f'/proc/{p}/task/{t}/children').read().split():
                    kids.append(int(c))
        except Exception: pass
        for k in set(kids):
            for l in open(f'/proc/{k}/status'):
                if l.startswith('VmRSS:'): tot += int(l.split()[1]) * 1024
    return tot
req = (f'GET {path} HTTP/1.1\r\nHost: {host}\r\nInquiry-Purpose: administrative_inspection\r\nInquiry-Case: BENCH-2026-001\r\n\r\n').encode()
conns = []; fails = 0
async def one(sem):
    global fails
    async with sem:
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=ctx), 20)
            if os.environ.get('NOREQ'):
                conns.append((r, w)); return
            w.write(req); await w.drain()
            head = await asyncio.wait_for(r.readuntil(b'\r\n\r\n'), 20)
            cl = [l for l in head.split(b'\r\n') if l.lower().startswith(b'content-length:')]
            if cl: await r.readexactly(int(cl[0].split(b':')[1]))
            conns.append((r, w))
        except Exception as e:
            fails += 1
async def main():
    sem = asyncio.Semaphore(32)
    before = rss(pids)
    t = time.time()
    await asyncio.gather(*[one(sem) for _ in range(n)])
    await asyncio.sleep(2)
    after = rss(pids)
    import subprocess
    out = subprocess.run(['ss','-Htn','state','established',f'( sport = :{port} )'],capture_output=True,text=True).stdout
    alive = len([l for l in out.splitlines() if l.strip()])
    print(f"connections {len(conns)}, still open at the server {alive} (failed {fails}) in {time.time()-t:.1f}s; RSS {before/2**20:.1f} -> {after/2**20:.1f} MiB; {(after-before)/max(alive,1)/1024:.1f} KiB per idle connection")
asyncio.run(main())
