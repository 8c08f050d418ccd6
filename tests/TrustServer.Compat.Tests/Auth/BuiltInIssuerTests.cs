using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests.Auth;

/// <summary>The real notary client with <c>NOTARY_AUTH</c> against token auth and the built-in issuer.</summary>
public sealed class BuiltInIssuerTests(BuiltInIssuerServerFixture fixture) : IClassFixture<BuiltInIssuerServerFixture>, IDisposable
{
    private readonly TemporaryDirectory _files = new("notary-payload");

    private TrustServerInstance Server => fixture.Instance;

    [Fact]
    public async Task PushUser_InitPublishRotate_PullUserListsButCannotPublish()
    {
        var gun = NewGun("push");
        using var alice = Client("alice");
        await alice.RunCheckedAsync(["init", gun, "--publish"]);
        await alice.RunCheckedAsync(["add", gun, "v1", Payload("v1"), "-p"]);
        await alice.RunCheckedAsync(["key", "rotate", gun, "targets"]);
        await alice.RunCheckedAsync(["add", gun, "v2", Payload("v2"), "-p"]);
        Assert.Contains("v2", (await alice.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);

        using var bob = Client("bob");
        Assert.Contains("v2", (await bob.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);
        var denied = await bob.RunAsync(["init", NewGun("bob"), "--publish"]);
        Assert.False(denied.Succeeded, denied.ToString());
        Assert.Contains("401", denied.StandardOutput + denied.StandardError, StringComparison.Ordinal);

        // With alice's keys but bob's credentials the publish is refused by the server, and nothing changes.
        alice.SetBasicAuth("bob", BuiltInIssuerServerFixture.Password);
        var refused = await alice.RunAsync(["add", gun, "v3", Payload("v3"), "-p"]);
        Assert.False(refused.Succeeded, refused.ToString());
        Assert.Contains("401", refused.StandardOutput + refused.StandardError, StringComparison.Ordinal);
        using var check = Client("alice");
        Assert.DoesNotContain("v3", (await check.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteRemote_NeedsStar()
    {
        var gun = NewGun("delete");
        using var alice = Client("alice");
        await alice.RunCheckedAsync(["init", gun, "--publish"]);
        await alice.RunCheckedAsync(["add", gun, "kept", Payload("kept"), "-p"]);

        var denied = await alice.RunAsync(["delete", gun, "--remote"]);
        Assert.False(denied.Succeeded, denied.ToString());
        using var bob = Client("bob");
        Assert.Contains("kept", (await bob.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);

        using var carol = Client("carol");
        await carol.RunCheckedAsync(["delete", gun, "--remote"]);
        using var fresh = Client("carol");
        var gone = await fresh.RunAsync(["list", gun]);
        Assert.False(gone.Succeeded, gone.ToString());
        Assert.Contains("does not have trust data", gone.StandardOutput + gone.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserWithoutGrant_Gets401_AndNothingChanges()
    {
        var gun = NewGun("nogrant");
        using var mallory = Client("mallory");
        var init = await mallory.RunAsync(["init", gun, "--publish"]);
        Assert.False(init.Succeeded, init.ToString());
        Assert.Contains("401", init.StandardOutput + init.StandardError, StringComparison.Ordinal);

        using var wrongPassword = Server.NewClient();
        wrongPassword.SetBasicAuth("carol", "not the password");
        var rejected = await wrongPassword.RunAsync(["init", gun, "--publish"]);
        Assert.False(rejected.Succeeded, rejected.ToString());

        // Nothing was stored: with a full token the GUN's root is still unknown.
        var token = await TokenAsync("carol", BuiltInIssuerServerFixture.Password, $"repository:{gun}:*");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{gun}/_trust/tuf/root.json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Challenges_HaveNotarysForm_HealthIsOpen_PrefixFilterRunsFirst()
    {
        var realm = Server.Url + "/auth/token";
        using (var ping = await Server.Http.GetAsync("/v2/"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, ping.StatusCode);
            Assert.Equal($"Bearer realm=\"{realm}\",service=\"notary-server\",scope=\"registry:catalog:*\"", ping.Headers.WwwAuthenticate.ToString());
            Assert.Equal("application/json; charset=utf-8", ping.Content.Headers.ContentType!.ToString());
            Assert.Equal(
                "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\",\"detail\":[{\"Type\":\"registry\",\"Class\":\"\",\"Name\":\"catalog\",\"Action\":\"*\"}]}]}\n",
                await ping.Content.ReadAsStringAsync());
        }

        const string Gun = "example.com/team/raw";
        using (var root = await Server.Http.GetAsync($"/v2/{Gun}/_trust/tuf/root.json"))
        {
            Assert.Equal($"Bearer realm=\"{realm}\",service=\"notary-server\",scope=\"repository:{Gun}:pull\"", root.Headers.WwwAuthenticate.ToString());
        }

        using (var delete = await Server.Http.DeleteAsync($"/v2/{Gun}/_trust/tuf/"))
        {
            Assert.Equal($"Bearer realm=\"{realm}\",service=\"notary-server\",scope=\"repository:{Gun}:*\"", delete.Headers.WwwAuthenticate.ToString());
        }

        // A pull token on a push route: insufficient_scope, with both required actions listed.
        var pullToken = await TokenAsync("bob", BuiltInIssuerServerFixture.Password, $"repository:{Gun}:push,pull");
        using (var update = new HttpRequestMessage(HttpMethod.Post, $"/v2/{Gun}/_trust/tuf/") { Content = new ByteArrayContent([]) })
        {
            update.Headers.Authorization = new AuthenticationHeaderValue("Bearer", pullToken);
            using var response = await Server.Http.SendAsync(update);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal(
                $"Bearer realm=\"{realm}\",service=\"notary-server\",scope=\"repository:{Gun}:push,pull\",error=\"insufficient_scope\"",
                response.Headers.WwwAuthenticate.ToString());
        }

        // A garbage token: invalid_token. A Basic header counts as no token.
        using (var garbage = new HttpRequestMessage(HttpMethod.Get, $"/v2/{Gun}/_trust/tuf/root.json"))
        {
            garbage.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "a.b.c");
            using var response = await Server.Http.SendAsync(garbage);
            Assert.EndsWith(",error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        using (var basic = new HttpRequestMessage(HttpMethod.Get, $"/v2/{Gun}/_trust/tuf/root.json"))
        {
            basic.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("carol:" + BuiltInIssuerServerFixture.Password)));
            using var response = await Server.Http.SendAsync(basic);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.DoesNotContain("error=", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        using (var health = await Server.Http.GetAsync("/_notary_server/health"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        // GUNs outside Repositories:GunPrefixes are refused before auth, as notary-server does.
        using (var filtered = await Server.Http.GetAsync("/v2/other.org/x/_trust/tuf/root.json"))
        {
            Assert.Equal(HttpStatusCode.NotFound, filtered.StatusCode);
        }

        // Unknown URLs need the catalog scope.
        using (var unknown = await Server.Http.GetAsync("/nothing/here"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
            Assert.Contains("scope=\"registry:catalog:*\"", unknown.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TokenEndpoint_GrantsRequestedIntersectGrants_RefusesBadCredentials_AnonymousGetsNothing()
    {
        const string Gun = "example.com/team/endpoint";
        var alice = await TokenResponseAsync("alice", BuiltInIssuerServerFixture.Password, $"repository:{Gun}:*", "repository:example.com/elsewhere/x:pull");
        Assert.Equal(alice["token"]!.GetValue<string>(), alice["access_token"]!.GetValue<string>());
        Assert.True(alice["expires_in"]!.GetValue<int>() >= 60);
        Assert.NotNull(alice["issued_at"]);
        var claims = JsonNode.Parse(Convert.FromBase64String(Pad(alice["token"]!.GetValue<string>().Split('.')[1])))!;
        var access = claims["access"]!.AsArray();
        var entry = Assert.Single(access);
        Assert.Equal(Gun, entry!["name"]!.GetValue<string>());
        Assert.Equal(["push", "pull"], entry["actions"]!.AsArray().Select(a => a!.GetValue<string>()).Order().Reverse());

        using var bad = new HttpRequestMessage(HttpMethod.Get, $"/auth/token?service=notary-server&scope=repository:{Gun}:pull");
        bad.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:wrong")));
        using (var response = await Server.Http.SendAsync(bad))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using (var anonymous = await Server.Http.GetAsync($"/auth/token?service=notary-server&scope=repository:{Gun}:pull"))
        {
            anonymous.EnsureSuccessStatusCode();
            var token = JsonNode.Parse(await anonymous.Content.ReadAsStringAsync())!["token"]!.GetValue<string>();
            var anonymousClaims = JsonNode.Parse(Convert.FromBase64String(Pad(token.Split('.')[1])))!;
            Assert.Empty(anonymousClaims["access"]!.AsArray());
        }
    }

    [Fact]
    public async Task AdminApi_NeedsTheCatalogScope()
    {
        // RFC 7807 bodies with the Notary routes' challenge header: 401 without a (valid) token, 403 without the scope.
        foreach (var path in new[] { "/api/admin/v1/repositories", "/api/admin/v1/nope" })
        {
            var anonymous = await Server.Http.GetAsync(path);
            await AssertProblemAsync(anonymous, HttpStatusCode.Unauthorized);
            Assert.Contains("scope=\"registry:catalog:*\"", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/admin/v1/repositories"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not.a.token");
            var invalid = await Server.Http.SendAsync(request);
            await AssertProblemAsync(invalid, HttpStatusCode.Unauthorized);
            Assert.Contains("error=\"invalid_token\"", invalid.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        var pushToken = await TokenAsync("carol", BuiltInIssuerServerFixture.Password, "registry:catalog:*");
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/admin/v1/repositories"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", pushToken);
            var forbidden = await Server.Http.SendAsync(request);
            await AssertProblemAsync(forbidden, HttpStatusCode.Forbidden);
            Assert.Contains("error=\"insufficient_scope\"", forbidden.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        var adminToken = await TokenAsync("admin", BuiltInIssuerServerFixture.Password, "registry:catalog:*");
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/admin/v1/repositories"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
            Assert.Equal(HttpStatusCode.OK, (await Server.Http.SendAsync(request)).StatusCode);
        }

        // Probes and metrics stay open for the platform.
        Assert.Equal(HttpStatusCode.OK, (await Server.Http.GetAsync("/healthz/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Server.Http.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task Logs_NeverContainTokensPasswordsOrAuthorizationHeaders()
    {
        var gun = NewGun("logs");
        using var alice = Client("alice");
        await alice.RunCheckedAsync(["init", gun, "--publish"]);
        using var wrong = Server.NewClient();
        wrong.SetBasicAuth("alice", "wrong-password-in-logs?");
        Assert.False((await wrong.RunAsync(["list", gun])).Succeeded);
        var token = await TokenAsync("alice", BuiltInIssuerServerFixture.Password, $"repository:{gun}:pull");
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{gun}/_trust/tuf/root.json"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token + "x");
            using var response = await Server.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        var logs = string.Join('\n', fixture.Logs.Lines);
        Assert.Matches("Issued a token to \"?alice", logs); // Serilog renders string properties quoted

        Assert.Contains("Bearer token rejected", logs, StringComparison.Ordinal);
        foreach (var secret in new[] { BuiltInIssuerServerFixture.Password, "wrong-password-in-logs?", token[..20], token.Split('.')[2][..20], "eyJ", "Basic ", "Bearer ey" })
        {
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }
    }

    private async Task<string> TokenAsync(string user, string password, params string[] scopes) =>
        (await TokenResponseAsync(user, password, scopes))["token"]!.GetValue<string>();

    private async Task<JsonNode> TokenResponseAsync(string user, string password, params string[] scopes)
    {
        var query = string.Join('&', scopes.Select(s => "scope=" + Uri.EscapeDataString(s)));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/auth/token?service={BuiltInIssuerServerFixture.Service}&{query}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        using var response = await Server.Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    private static string Pad(string base64Url)
    {
        var text = base64Url.Replace('-', '+').Replace('_', '/');
        return text + new string('=', (4 - text.Length % 4) % 4);
    }

    private NotaryCli Client(string user)
    {
        var client = Server.NewClient();
        client.SetBasicAuth(user, BuiltInIssuerServerFixture.Password);
        return client;
    }

    private static string NewGun(string name) => $"example.com/team/{name}-{Guid.NewGuid():N}";

    private string Payload(string content)
    {
        var path = _files.Combine(content + "-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(path, content + "\n");
        return path;
    }

    public void Dispose() => _files.Dispose();

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{status} expected: {response.StatusCode} {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(body)!;
        Assert.Equal((int)status, problem["status"]!.GetValue<int>());
        Assert.StartsWith("https://tools.ietf.org/html/rfc9110#section-15.5.", problem["type"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(problem["title"]?.GetValue<string>()));
        Assert.Contains("registry:catalog:*", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
