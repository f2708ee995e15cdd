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
// TSA:    POST {url}/api/v1/timestamp      Rekor v2: POST {url}/api/v2/log/entries
// (the trusted root lists both logs).
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
  const tlog2Key = newKey();
  const rekorV2 = new RekorV2(tlog2Key);
  const handlers = [
    mock.fulcioHandler(ca),
    rekorV1Handler(tlog),
    mock.tsaHandler(tsa),
    { path: '/api/v2/log/entries', fn: async (body) => rekorV2.create(body) },
  ];

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
    }, {
      baseUrl: url,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: b64(spki(tlog2Key)), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor },
      logId: { keyId: b64(rekorV2.logId) },
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

// Rekor v1 as @sigstore/mock serves it, except that a `dsse` entry is recorded the way the real
// Rekor canonicalizes it (payload hash and signatures with their verifiers) rather than as the
// proposed envelope, so verifiers can match the entry against the signature.
function rekorV1Handler(tlog) {
  return {
    path: '/api/v1/log/entries',
    fn: async (body) => {
      try {
        const entry = await tlog.log(canonicalV1(JSON.parse(body)));
        return { statusCode: 201, response: JSON.stringify(entry), contentType: 'application/json' };
      } catch (e) {
        return { statusCode: 400, response: String(e && e.message ? e.message : e) };
      }
    },
  };
}

function canonicalV1(proposed) {
  const content = proposed && proposed.kind === 'dsse' && proposed.spec && proposed.spec.proposedContent;
  if (!content) return proposed;
  const envelope = JSON.parse(content.envelope);
  const verifiers = content.verifiers || [];
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(Buffer.from(content.envelope)).toString('hex') },
      payloadHash: {
        algorithm: 'sha256',
        value: sha256(Buffer.from(envelope.payload, 'base64')).toString('hex'),
      },
      signatures: (envelope.signatures || []).map((sig, i) => ({
        signature: sig.sig,
        verifier: verifiers[i] || verifiers[0],
      })),
    },
  };
}

// JSON with sorted keys and no whitespace (what Rekor v2 stores as the canonicalized body).
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

// A Rekor v2 log (POST /api/v2/log/entries, protobuf-JSON CreateEntryRequest with a
// hashedRekordRequestV002 or dsseRequestV002): entries of kind hashedrekord/dsse 0.0.2 in a real
// RFC 6962 Merkle tree kept in memory, each answered with an inclusion proof and a signed
// checkpoint (C2SP signed note, key hint = the first 4 bytes of the log id) and, as Rekor v2
// does, no integrated time and no signed entry timestamp.
class RekorV2 {
  constructor(keyPair) {
    this.key = keyPair.privateKey;
    this.logId = sha256(spki(keyPair));
    this.origin = 'rekor-v2.sigstore.mock';
    this.leaves = [];
  }

  static largestPowerOfTwoBelow(n) {
    let k = 1;
    while (k * 2 < n) k *= 2;
    return k;
  }

  static node(left, right) {
    return sha256(Buffer.concat([Buffer.from([1]), left, right]));
  }

  root(leaves) {
    if (leaves.length === 1) return leaves[0];
    const k = RekorV2.largestPowerOfTwoBelow(leaves.length);
    return RekorV2.node(this.root(leaves.slice(0, k)), this.root(leaves.slice(k)));
  }

  // RFC 6962 PATH(m, D[n]), leaf to root.
  path(m, leaves) {
    if (leaves.length <= 1) return [];
    const k = RekorV2.largestPowerOfTwoBelow(leaves.length);
    return m < k
      ? [...this.path(m, leaves.slice(0, k)), this.root(leaves.slice(k))]
      : [...this.path(m - k, leaves.slice(k)), this.root(leaves.slice(0, k))];
  }

  body(request) {
    const hr = request.hashedRekordRequestV002;
    if (hr) {
      return {
        apiVersion: '0.0.2',
        kind: 'hashedrekord',
        spec: {
          hashedRekordV002: {
            data: { algorithm: 'SHA2_256', digest: hr.digest },
            signature: { content: hr.signature.content, verifier: hr.signature.verifier },
          },
        },
      };
    }
    const dsse = request.dsseRequestV002;
    if (dsse) {
      const verifiers = dsse.verifiers || [];
      return {
        apiVersion: '0.0.2',
        kind: 'dsse',
        spec: {
          dsseV002: {
            payloadHash: {
              algorithm: 'SHA2_256',
              digest: b64(sha256(Buffer.from(dsse.envelope.payload, 'base64'))),
            },
            signatures: (dsse.envelope.signatures || []).map((sig, i) => ({
              content: sig.sig,
              verifier: verifiers[i] || verifiers[0],
            })),
          },
        },
      };
    }
    throw new Error('expected hashedRekordRequestV002 or dsseRequestV002');
  }

  create(text) {
    let body;
    try {
      body = this.body(JSON.parse(text));
    } catch (e) {
      return { statusCode: 400, response: String(e && e.message ? e.message : e) };
    }
    const bytes = Buffer.from(canonical(body));
    const index = this.leaves.length;
    this.leaves.push(sha256(Buffer.concat([Buffer.from([0]), bytes])));
    const size = this.leaves.length;
    const root = this.root(this.leaves);
    const note = `${this.origin}\n${size}\n${b64(root)}\n`;
    const signature = crypto.sign('sha256', Buffer.from(note), this.key);
    const hinted = Buffer.concat([this.logId.subarray(0, 4), signature]);
    const entry = {
      logIndex: String(index),
      logId: { keyId: b64(this.logId) },
      kindVersion: { kind: body.kind, version: '0.0.2' },
      inclusionProof: {
        logIndex: String(index),
        rootHash: b64(root),
        treeSize: String(size),
        hashes: this.path(index, this.leaves).map(b64),
        checkpoint: { envelope: `${note}\n\u2014 ${this.origin} ${b64(hinted)}\n` },
      },
      canonicalizedBody: b64(bytes),
    };
    return { statusCode: 201, response: JSON.stringify(entry), contentType: 'application/json' };
  }
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
