using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests.Auth;

/// <summary>
/// The trust queries under token auth: <c>pull</c> on the GUN, as for the Notary reads; without it the Bearer challenge
/// with an RFC 7807 body (never the Notary envelope): 401 without a valid token, 403 with one that lacks the access, as
/// the admin API answers; GUNs outside <c>Repositories:GunPrefixes</c> are not served.
/// </summary>
public sealed class TrustQueryAuthTests(BuiltInIssuerServerFixture fixture) : IClassFixture<BuiltInIssuerServerFixture>, IDisposable
{
    private readonly TemporaryDirectory _files = new("trust-query-auth");

    private TrustServerInstance Server => fixture.Instance;

    [Fact]
    public async Task PullOnTheGun_IsRequired_ChallengesAreProblemDetails()
    {
        var gun = $"example.com/team/trust-{Guid.NewGuid():N}";
        using var alice = Server.NewClient();
        alice.SetBasicAuth("alice", BuiltInIssuerServerFixture.Password);
        var payload = _files.Combine("v1");
        await File.WriteAllTextAsync(payload, "v1\n");
        await alice.RunCheckedAsync(["init", gun, "-p"]);
        await alice.RunCheckedAsync(["add", gun, "v1", payload, "-p"]);

        var get = $"/api/trust/v1/targets?gun={Uri.EscapeDataString(gun)}&name=v1";
        var verify = new { gun, name = "v1" };

        // No token, a garbage token, a token without pull on this GUN (mallory; alice's token for another GUN).
        await AssertChallengeAsync(await SendAsync(HttpMethod.Get, get, null, null), gun, error: null);
        await AssertChallengeAsync(await SendAsync(HttpMethod.Post, "/api/trust/v1/verify", null, verify), gun, error: null);
        await AssertChallengeAsync(await SendAsync(HttpMethod.Get, get, "not-a-token", null), gun, "invalid_token");
        var malloryToken = await TokenAsync("mallory", $"repository:{gun}:pull");
        await AssertChallengeAsync(await SendAsync(HttpMethod.Get, get, malloryToken, null), gun, "insufficient_scope");
        var otherGunToken = await TokenAsync("alice", "repository:example.com/team/other:pull");
        await AssertChallengeAsync(await SendAsync(HttpMethod.Post, "/api/trust/v1/verify", otherGunToken, verify), gun, "insufficient_scope");

        // bob may pull: both queries answer.
        var bobToken = await TokenAsync("bob", $"repository:{gun}:pull");
        using var signers = await SendAsync(HttpMethod.Get, get, bobToken, null);
        Assert.Equal(HttpStatusCode.OK, signers.StatusCode);
        Assert.Equal("targets", (await signers.Content.ReadFromJsonAsync<JsonNode>())!["lookup"]!["role"]!.GetValue<string>());
        using var verdict = await SendAsync(HttpMethod.Post, "/api/trust/v1/verify", bobToken, verify);
        Assert.True((await verdict.Content.ReadFromJsonAsync<JsonNode>())!["verified"]!.GetValue<bool>());

        // Outside the GUN prefixes: 404 before any token is asked for, as the Notary reads answer.
        await TrustQueryDifferentialTests.AssertProblemAsync(
            await SendAsync(HttpMethod.Get, "/api/trust/v1/targets?gun=elsewhere.org/x", null, null), HttpStatusCode.NotFound);
    }

    public void Dispose() => _files.Dispose();

    private static async Task AssertChallengeAsync(HttpResponseMessage response, string gun, string? error)
    {
        using (response)
        {
            var challenge = response.Headers.WwwAuthenticate.ToString();
            Assert.Contains($"scope=\"repository:{gun}:pull\"", challenge, StringComparison.Ordinal);
            if (error is not null)
            {
                Assert.Contains($"error=\"{error}\"", challenge, StringComparison.Ordinal);
            }

            await TrustQueryDifferentialTests.AssertProblemAsync(
                response, error == "insufficient_scope" ? HttpStatusCode.Forbidden : HttpStatusCode.Unauthorized);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, string? token, object? body)
    {
        using var request = new HttpRequestMessage(method, url) { Content = body is null ? null : JsonContent.Create(body) };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await Server.Http.SendAsync(request);
    }

    private async Task<string> TokenAsync(string user, string scope)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/auth/token?service={BuiltInIssuerServerFixture.Service}&scope={Uri.EscapeDataString(scope)}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{BuiltInIssuerServerFixture.Password}")));
        using var response = await Server.Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["token"]!.GetValue<string>();
    }
}
