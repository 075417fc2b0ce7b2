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
//   EXTRA_CLIENTS              JSON array of further clients' metadata (their own
//                              token_endpoint_auth_method, jwks, userinfo_signed_response_alg…);
//                              redirect URIs, grant and response types default to the main one's
//   REQUIRE_PAR                `1`: every authorization request must be pushed (RFC 9126)
//   TLS_CERT_FILE, TLS_KEY_FILE  serve https with this certificate and key; clients may then
//                              present certificates (tls_client_auth, RFC 8705) signed by
//   TLS_CLIENT_CA_FILE         this CA; a client names its certificate's subject in
//                              tls_client_auth_subject_dn (`CN=…`)
//   MTLS_ALIAS_HOST            with TLS: discovery publishes mtls_endpoint_aliases on this host
//   DPOP                       `1`: token introspection on, for an API checking DPoP-bound
//                              tokens (DPoP itself is on by default); `nonce`: also
//                              require server nonces in DPoP proofs
//
// Prints `READY <port>` on stdout once listening. `GET /__test/stats` answers the counts of
// successful token-endpoint grants by grant_type, e.g. {"authorization_code":1}.
// Exits when stdin closes, or on SIGTERM / SIGINT.

import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
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

let extraClients = [];
try {
  extraClients = JSON.parse(process.env.EXTRA_CLIENTS || '[]').map((extra) => ({
    redirect_uris: client.redirect_uris,
    post_logout_redirect_uris: client.post_logout_redirect_uris,
    grant_types: client.grant_types,
    response_types: client.response_types,
    ...extra,
  }));
} catch (err) {
  console.error(`provider.mjs: EXTRA_CLIENTS is not JSON: ${err.message}`);
  process.exit(2);
}
const tls = process.env.TLS_CERT_FILE
  ? {
    cert: readFileSync(required('TLS_CERT_FILE')),
    key: readFileSync(required('TLS_KEY_FILE')),
    ca: process.env.TLS_CLIENT_CA_FILE ? readFileSync(process.env.TLS_CLIENT_CA_FILE) : undefined,
    // Client certificates are asked for and checked by features.mTLS below, per client.
    requestCert: true,
    rejectUnauthorized: false,
  }
  : undefined;
const mtlsAliasHost = process.env.MTLS_ALIAS_HOST;

// RFC 8705 client authentication from the TLS connection's certificate.
const mTLS = {
  enabled: true,
  tlsClientAuth: true,
  getCertificate(ctx) {
    const peer = ctx.socket.getPeerCertificate?.();
    return peer?.raw ? new X509Certificate(peer.raw) : undefined;
  },
  certificateAuthorized(ctx) {
    return ctx.socket.authorized === true;
  },
  certificateSubjectMatches(ctx, property, expected) {
    const peer = ctx.socket.getPeerCertificate?.();
    return property === 'tls_client_auth_subject_dn' && `CN=${peer?.subject?.CN}` === expected;
  },
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

server = tls ? createTlsServer(tls) : createServer();
server.on('error', (err) => {
  console.error(`provider.mjs: ${err.message}`);
  process.exit(1);
});

server.listen(port, HOST, () => {
  const actualPort = server.address().port;
  const issuer = `${tls ? 'https' : 'http'}://${issuerHost}:${actualPort}`;

  const provider = new Provider(issuer, {
    clients: [client, ...extraClients],
    ...(tls ? {
      clientAuthMethods: ['client_secret_basic', 'client_secret_jwt', 'client_secret_post',
        'private_key_jwt', 'tls_client_auth', 'none'],
    } : {}),
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
      introspection: { enabled: true },
      jwtUserinfo: { enabled: true },
      pushedAuthorizationRequests: {
        enabled: true,
        requirePushedAuthorizationRequests: process.env.REQUIRE_PAR === '1',
      },
      ...(tls ? { mTLS } : {}),
      ...(dpop && {
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

  const count = (name) => {
    stats[name] = (stats[name] || 0) + 1;
  };
  provider.on('grant.success', (ctx) => {
    count(ctx.oidc.params?.grant_type || 'unknown');
    count(`auth:${ctx.oidc.client?.tokenEndpointAuthMethod}`);
    if (mtlsAliasHost && ctx.hostname === mtlsAliasHost) count('mtls_alias');
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
      count('revocation');
    }
    if (ctx.path === '/token/introspection' && ctx.method === 'POST' && ctx.status === 200) {
      count('introspection');
    }
    if (ctx.path === '/request' && ctx.method === 'POST' && ctx.status === 201) count('par');
    if (ctx.path === '/me' && ctx.status === 200 && ctx.response.type === 'application/jwt') {
      count('userinfo_jwt');
    }
    if (mtlsAliasHost && ctx.path === '/.well-known/openid-configuration' && ctx.body) {
      const alias = (path) => `https://${mtlsAliasHost}:${server.address().port}${path}`;
      ctx.body.mtls_endpoint_aliases = {
        token_endpoint: alias('/token'),
        revocation_endpoint: alias('/token/revocation'),
        introspection_endpoint: alias('/token/introspection'),
        pushed_authorization_request_endpoint: alias('/request'),
        userinfo_endpoint: alias('/me'),
      };
    }
  });

  server.on('request', provider.callback());
  process.stdout.write(`READY ${actualPort}\n`);
});
