// A real OpenID provider for assetport's sign-in tests: `oidc-provider` (certified, npm), with
// one confidential client and users read from a JSON file at every sign-in, so a test can
// change someone's groups between two sign-ins. Started by the tests on a free port:
//
//   node provider.mjs <users.json> <redirect_uris> [post_logout_redirect_uris]
//
// (lists comma-separated: two instances of the portal each register their own address) and
// prints one line, {"issuer": "http://127.0.0.1:<port>"}, once it listens. Users:
//   {"alice": {"email": "alice@partner.test", "email_verified": true, "name": "Alice",
//              "groups": ["retail"]}}
// Sign-in is oidc-provider's own interaction (its development login form), which takes the
// user's id as login name, then a consent form.
//
// A user may also carry "id_token": {"aud": "…", "exp_in": -60}: the provider then re-signs
// that user's ID token, with its own key, with those claims changed (a foreign audience, an
// expired token), as a misconfigured or hostile provider would, so the tests can show that
// the portal's own checks refuse a correctly signed but wrong token.
import fs from 'node:fs';
import http from 'node:http';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const [usersFile, redirectUris, logoutUris] = process.argv.slice(2);
if (!usersFile || !redirectUris) {
  console.error('usage: node provider.mjs <users.json> <redirect_uris> [post_logout_redirect_uris]');
  process.exit(2);
}
const list = (s) => (s ? s.split(',').filter(Boolean) : []);
const users = () => JSON.parse(fs.readFileSync(usersFile, 'utf8'));

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    jwks: { keys: [jwk] },
    clients: [{
      client_id: 'assetport',
      client_secret: 'assetport-test-secret',
      redirect_uris: list(redirectUris),
      post_logout_redirect_uris: list(logoutUris),
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    scopes: ['openid', 'email', 'profile', 'groups'],
    pkce: { required: () => true },
    // ID tokens carry the claims themselves (no userinfo round trip needed).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    async findAccount(_ctx, id) {
      const u = users()[id];
      if (!u) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: u.email, email_verified: u.email_verified !== false, name: u.name, groups: u.groups || [] };
        },
      };
    },
  });
  provider.proxy = false;
  // The misbehaving-provider switch described above, after the token endpoint has answered.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path !== '/token' || ctx.status !== 200 || !ctx.body?.id_token) return;
    const claims = jose.decodeJwt(ctx.body.id_token);
    const change = users()[claims.sub]?.id_token;
    if (!change) return;
    if (change.aud !== undefined) claims.aud = change.aud;
    if (change.exp_in !== undefined) claims.exp = Math.floor(Date.now() / 1000) + change.exp_in;
    ctx.body = {
      ...ctx.body,
      id_token: await new jose.SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
        .sign(privateKey),
    };
  });
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer }));
});
