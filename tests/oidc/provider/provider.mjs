// SPDX-License-Identifier: MIT
// tests/oidc/provider/provider.mjs — a real OpenID provider (the npm package
// oidc-provider, OpenID Certified) for tests/oidc/run, on 127.0.0.1 over
// HTTPS with a test CA's certificate.
//
//   node provider.mjs CERT.pem KEY.pem PORTFILE
//
// Listens on an ephemeral port (or TG_OIDC_PORT), writes it to PORTFILE once serving, and
// serves discovery (/.well-known/openid-configuration), the JWKS (/jwks)
// and the token endpoint (/token) with the client_credentials grant:
// client "tollgate-test", secret "tollgate-secret". The resource indicator
// (RFC 8707) urn:tollgate:<alg> selects the access token's algorithm
// (rs256, ps256, es256, eddsa) and is its audience; the token is an RFC 9068
// JWT (typ at+jwt) carrying groups ["dba", "readers"].
//
// Test controls, loopback only (what a real IdP does in its admin console):
//   POST /_test/rotate  a new key of every type goes first in the key set
//                       (so it signs from now on); answers the new kids
//   POST /_test/break   the JWKS answers 503 until /_test/repair
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';

import Provider from 'oidc-provider';

const [certFile, keyFile, portFile] = process.argv.slice(2);
if (!portFile) {
  console.error('usage: node provider.mjs CERT.pem KEY.pem PORTFILE');
  process.exit(2);
}

let generation = 0;
let keys = [];
let broken = false;
let provider;
let issuer;

function newKeys() {
  generation += 1;
  const mk = (type, opts, kid) => ({
    ...crypto.generateKeyPairSync(type, opts).privateKey.export({ format: 'jwk' }),
    kid: `${kid}-${generation}`,
    use: 'sig',
  });
  return [
    mk('rsa', { modulusLength: 2048 }, 'rsa'),
    mk('ec', { namedCurve: 'P-256' }, 'ec'),
    mk('ed25519', {}, 'ed'),
  ];
}

const ALGS = { rs256: 'RS256', ps256: 'PS256', es256: 'ES256', eddsa: 'EdDSA' };

function build() {
  const p = new Provider(issuer, {
    clients: [{
      client_id: 'tollgate-test',
      client_secret: 'tollgate-secret',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    }],
    jwks: { keys },
    cookies: { keys: ['tollgate-test-cookie-key'] },
    scopes: ['db'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:tollgate:rs256',
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          const alg = ALGS[resource.replace(/^urn:tollgate:/, '')];
          if (!alg) throw new Error(`unknown resource ${resource}`);
          return {
            scope: 'db',
            audience: resource,
            accessTokenTTL: 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg } },
          };
        },
      },
    },
    extraTokenClaims: () => ({ groups: ['dba', 'readers'] }),
  });
  return p.callback();
}

let handler;

function control(req, res) {
  if (req.method === 'POST' && req.url === '/_test/rotate') {
    keys = [...newKeys(), ...keys];
    handler = build();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kids: keys.slice(0, 3).map((k) => k.kid) }));
    return true;
  }
  if (req.method === 'POST' && (req.url === '/_test/break' || req.url === '/_test/repair')) {
    broken = req.url === '/_test/break';
    res.writeHead(204);
    res.end();
    return true;
  }
  if (broken && req.url.startsWith('/jwks')) {
    res.writeHead(503);
    res.end();
    return true;
  }
  return false;
}

const server = https.createServer({
  cert: fs.readFileSync(certFile),
  key: fs.readFileSync(keyFile),
}, (req, res) => {
  if (!control(req, res)) handler(req, res);
});

// TG_OIDC_PORT: a fixed port (tests/identity: the issuer is configured before the provider runs)
server.listen(Number(process.env.TG_OIDC_PORT || 0), '127.0.0.1', () => {
  issuer = `https://127.0.0.1:${server.address().port}`;
  keys = newKeys();
  handler = build();
  fs.writeFileSync(`${portFile}.tmp`, `${server.address().port}\n`);
  fs.renameSync(`${portFile}.tmp`, portFile);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
