// Local Fulcio + Rekor + TSA for keyless tests without the internet, built on @sigstore/mock's
// request handlers (the package has no server of its own).
//
// How to start it (any test, signing or verification):
//   node tests/support/sigstore-mock.js <OUT_DIR>
// with NODE_PATH (or the working directory) able to resolve `@sigstore/mock`: the tests set
// NODE_PATH=<workspace>/.tools/node/node_modules. It listens on 127.0.0.1 (ephemeral port), writes
// <OUT_DIR>/trusted_root.json (Sigstore's trusted-root format: the mock CA, CT log, Rekor key and
// TSA chain) plus the same material as PEM (fulcio_root.pem, rekor.pub, ctlog.pub, tsa_chain.pem)
// and then prints ONE line of JSON to stdout:
//   {"url":"http://127.0.0.1:PORT","trustedRoot":"<OUT_DIR>/trusted_root.json"}
// Fulcio: POST {url}/api/v2/signingCert   Rekor: POST {url}/api/v1/log/entries
// TSA:    POST {url}/api/v1/timestamp
// The mock Fulcio does not check the OIDC token's signature: any JWT with `iss` and `sub` claims
// gets a 10-minute certificate with SAN URI = sub and issuer extensions 1.3.6.1.4.1.57264.1.1/.8
// = iss. It stops when stdin closes or on SIGTERM.
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const mock = require('@sigstore/mock');

const outDir = process.argv[2];
if (!outDir) {
  console.error('usage: node sigstore-mock.js <OUT_DIR>');
  process.exit(2);
}

const newKey = () => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const spki = (keyPair) => keyPair.publicKey.export({ format: 'der', type: 'spki' });
const b64 = (buf) => Buffer.from(buf).toString('base64');
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest();
const validFor = { start: new Date(Date.now() - 3600 * 1000).toISOString() };

async function main() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;

  const caKey = newKey();
  const ctKey = newKey();
  const tlogKey = newKey();
  const tsaKey = newKey();
  const ctlog = await mock.initializeCTLog(ctKey);
  const ca = await mock.initializeCA(caKey, ctlog);
  const tlog = await mock.initializeTLog(url, tlogKey);
  const tsa = await mock.initializeTSA(tsaKey);
  const handlers = [mock.fulcioHandler(ca), mock.rekorHandler(tlog), mock.tsaHandler(tsa)];

  server.on('request', (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const handler = handlers.find((h) => req.method === 'POST' && req.url === h.path);
      if (!handler) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end(`no mock handler for ${req.method} ${req.url}\n`);
        return;
      }
      try {
        const result = await handler.fn(Buffer.concat(chunks).toString());
        res.writeHead(result.statusCode, {
          'content-type': result.contentType || 'text/plain',
        });
        res.end(Buffer.isBuffer(result.response) || typeof result.response === 'string'
          ? result.response
          : Buffer.from(result.response.buffer));
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(e && e.stack ? e.stack : e));
      }
    });
  });

  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{
      baseUrl: url,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: b64(spki(tlogKey)), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor },
      logId: { keyId: b64(sha256(spki(tlogKey))) },
    }],
    certificateAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
      uri: url,
      certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] },
      validFor,
    }],
    ctlogs: [{
      baseUrl: url,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: b64(spki(ctKey)), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor },
      logId: { keyId: b64(sha256(spki(ctKey))) },
    }],
    timestampAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'tsa' },
      uri: url,
      certChain: {
        certificates: [{ rawBytes: b64(tsa.intCertificate) }, { rawBytes: b64(tsa.rootCertificate) }],
      },
      validFor,
    }],
  };
  fs.mkdirSync(outDir, { recursive: true });
  const rootPath = path.join(outDir, 'trusted_root.json');
  fs.writeFileSync(rootPath, JSON.stringify(trustedRoot, null, 2));
  // The same trust material as PEM files, for cosign's SIGSTORE_ROOT_FILE,
  // SIGSTORE_REKOR_PUBLIC_KEY and SIGSTORE_CT_LOG_PUBLIC_KEY_FILE (which keep it off TUF).
  const pem = (label, der) =>
    `-----BEGIN ${label}-----\n${b64(der).replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
  fs.writeFileSync(path.join(outDir, 'fulcio_root.pem'), pem('CERTIFICATE', ca.rootCertificate));
  fs.writeFileSync(path.join(outDir, 'rekor.pub'), pem('PUBLIC KEY', spki(tlogKey)));
  fs.writeFileSync(path.join(outDir, 'ctlog.pub'), pem('PUBLIC KEY', spki(ctKey)));
  fs.writeFileSync(
    path.join(outDir, 'tsa_chain.pem'),
    pem('CERTIFICATE', tsa.intCertificate) + pem('CERTIFICATE', tsa.rootCertificate),
  );
  process.stdout.write(JSON.stringify({ url, trustedRoot: rootPath }) + '\n');

  const stop = () => server.close(() => process.exit(0));
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
