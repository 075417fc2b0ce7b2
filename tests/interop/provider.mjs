// An OpenID Provider for tower-oidc's interop tests: the OpenID-Certified `oidc-provider`
// with one confidential client, its development login and consent forms, RP-initiated
// logout, PKCE required and refresh-token rotation.
//
// Listens on 127.0.0.1 only. Environment:
//   PORT                       port to listen on; 0 picks a free one (default 0)
//   CLIENT_ID, CLIENT_SECRET   the one client (client_secret_basic)
//   REDIRECT_URIS              comma-separated redirect URIs of the client
//   POST_LOGOUT_REDIRECT_URIS  comma-separated post-logout redirect URIs (optional)
//   ACCESS_TOKEN_TTL           access-token lifetime in seconds (default 3600)
//   ISSUER_HOST                host name in the issuer URL (default 127.0.0.1); `localhost`
//                              puts the provider on another site than an app on 127.0.0.1
//   EXTRA_CLAIMS               JSON object: account id -> claims added to that account's
//                              userinfo under the `profile` scope, e.g. {"ann":{"groups":[…]}}
//   DPOP                       `1`: token introspection on, for an API checking DPoP-bound
//                              tokens (DPoP itself is on by default); `nonce`: also
//                              require server nonces in DPoP proofs
//
// Prints `READY <port>` on stdout once listening. `GET /__test/stats` answers the counts of
// successful token-endpoint grants by grant_type, e.g. {"authorization_code":1}.
// Exits when stdin closes, or on SIGTERM / SIGINT.

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import process from 'node:process';

import Provider from 'oidc-provider';

const HOST = '127.0.0.1';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`provider.mjs: environment variable ${name} is required`);
    process.exit(2);
  }
  return value;
}

function list(value) {
  return (value || '').split(',').map((item) => item.trim()).filter(Boolean);
}

const port = Number.parseInt(process.env.PORT || '0', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`provider.mjs: PORT must be a port number, got ${process.env.PORT}`);
  process.exit(2);
}
const accessTokenTtl = Number.parseInt(process.env.ACCESS_TOKEN_TTL || '3600', 10);
if (!Number.isInteger(accessTokenTtl) || accessTokenTtl <= 0) {
  console.error('provider.mjs: ACCESS_TOKEN_TTL must be a positive number of seconds');
  process.exit(2);
}

const issuerHost = process.env.ISSUER_HOST || HOST;
const dpop = process.env.DPOP || '';
let extraClaims = {};
try {
  extraClaims = JSON.parse(process.env.EXTRA_CLAIMS || '{}');
} catch (err) {
  console.error(`provider.mjs: EXTRA_CLAIMS is not JSON: ${err.message}`);
  process.exit(2);
}
const extraClaimNames = [
  ...new Set(Object.values(extraClaims).flatMap((claims) => Object.keys(claims))),
];

const client = {
  client_id: required('CLIENT_ID'),
  client_secret: required('CLIENT_SECRET'),
  redirect_uris: list(required('REDIRECT_URIS')),
  post_logout_redirect_uris: list(process.env.POST_LOGOUT_REDIRECT_URIS),
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
};

const stats = {};

// Stop on SIGTERM / SIGINT and when the parent closes our stdin (it died or is done).
let server;
function shutdown(code) {
  if (server) {
    server.closeAllConnections?.();
    server.close();
  }
  process.exit(code);
}
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
process.stdin.on('end', () => shutdown(0));
process.stdin.on('close', () => shutdown(0));
process.stdin.on('error', () => shutdown(0));
process.stdin.resume();

server = createServer();
server.on('error', (err) => {
  console.error(`provider.mjs: ${err.message}`);
  process.exit(1);
});

server.listen(port, HOST, () => {
  const actualPort = server.address().port;
  const issuer = `http://${issuerHost}:${actualPort}`;

  const provider = new Provider(issuer, {
    clients: [client],
    // No `jwks`: oidc-provider signs with its published development keys (RS256 for ID
    // tokens by default, next to ES256 and EdDSA keys in the JWKS). Generating a key here
    // instead (generateKeyPairSync + export({ format: 'jwk' })) intermittently deadlocks
    // Node.js 20 in a GC-run KeyGenJob destructor.
    cookies: { keys: [randomBytes(32).toString('hex')] },
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            email: `${id}@example.com`,
            email_verified: true,
            name: `Test User ${id}`,
            ...(extraClaims[id] || {}),
          };
        },
      };
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', ...extraClaimNames],
    },
    // Left at its default (true): ID tokens of the code flow carry only `sub` and the
    // protocol claims; email and profile claims come from userinfo.
    conformIdTokenClaims: true,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      revocation: { enabled: true },
      ...(dpop && {
        introspection: { enabled: true },
        dPoP: {
          enabled: true,
          ...(dpop === 'nonce' && {
            nonceSecret: randomBytes(32),
            requireNonce: () => true,
          }),
        },
      }),
    },
    // Refresh tokens need the `offline_access` scope, which the provider keeps only when
    // the authorization request has `prompt=consent` and the client may use refresh_token.
    async issueRefreshToken(_ctx, theClient, source) {
      return theClient.grantTypeAllowed('refresh_token') && source.scopes.has('offline_access');
    },
    // Every refresh returns a new refresh token and consumes the old one.
    rotateRefreshToken: true,
    ttl: {
      AccessToken: accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 24 * 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 24 * 3600,
    },
  });

  provider.on('grant.success', (ctx) => {
    const grantType = ctx.oidc.params?.grant_type || 'unknown';
    stats[grantType] = (stats[grantType] || 0) + 1;
  });
  provider.on('server_error', (_ctx, err) => {
    console.error('provider.mjs: server_error', err);
  });

  provider.use(async (ctx, next) => {
    if (ctx.path === '/__test/stats' && ctx.method === 'GET') {
      ctx.set('cache-control', 'no-store');
      ctx.body = stats;
      return;
    }
    await next();
    if (ctx.path === '/token/revocation' && ctx.method === 'POST' && ctx.status === 200) {
      stats.revocation = (stats.revocation || 0) + 1;
    }
  });

  server.on('request', provider.callback());
  process.stdout.write(`READY ${actualPort}\n`);
});
