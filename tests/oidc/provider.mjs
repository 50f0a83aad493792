// A real OpenID provider for assetport's sign-in tests: `oidc-provider` (certified, npm), with
// one confidential client and users read from a JSON file at every sign-in, so a test can
// change someone's groups between two sign-ins. Started by the tests on a free port:
//
//   node provider.mjs <users.json> <redirect_uri> [post_logout_redirect_uri]
//
// prints one line, {"issuer": "http://127.0.0.1:<port>"}, once it listens. Users:
//   {"alice": {"email": "alice@partner.test", "email_verified": true, "name": "Alice",
//              "groups": ["retail"], "password": "alice pass"}}
// Sign-in is oidc-provider's own interaction (its development login form), which takes the
// user's id as login name.
import fs from 'node:fs';
import http from 'node:http';
import Provider from 'oidc-provider';

const [usersFile, redirectUri, logoutUri] = process.argv.slice(2);
if (!usersFile || !redirectUri) {
  console.error('usage: node provider.mjs <users.json> <redirect_uri> [post_logout_redirect_uri]');
  process.exit(2);
}
const users = () => JSON.parse(fs.readFileSync(usersFile, 'utf8'));

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'assetport',
      client_secret: 'assetport-test-secret',
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: logoutUri ? [logoutUri] : [],
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
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer }));
});
