using System.Text.Json;
using TrustServer.Compat.Tests.Support;

namespace TrustServer.Compat.Tests.Auth;

/// <summary>
/// Swagger UI under token auth, in headless Chromium: the admin API refuses without a token (RFC 7807 401), and works
/// with a token fetched through the UI itself (Authorize basic → GetToken → Authorize bearer).
/// </summary>
public sealed class SwaggerUiAuthTests(BuiltInIssuerServerFixture fixture) : IClassFixture<BuiltInIssuerServerFixture>
{
    [Fact]
    public async Task AdminRoute_WithATokenFromTheAuthorizeFlow_Answers200()
    {
        await using var ui = await SwaggerUiBrowser.OpenAsync(fixture.Instance.Url);
        var none = new Dictionary<string, string>();

        var refused = await ui.TryItOutAsync("Admin", "ListRepositories", none);
        Assert.Equal("401", refused.Status);
        Assert.Equal("Authentication required", JsonDocument.Parse(refused.Body).RootElement.GetProperty("title").GetString());

        await ui.AuthorizeAsync(new Dictionary<string, string> { ["username"] = "admin", ["password"] = BuiltInIssuerServerFixture.Password });
        var issued = await ui.TryItOutAsync("Auth", "GetToken", new Dictionary<string, string> { ["service"] = BuiltInIssuerServerFixture.Service, ["scope"] = "registry:catalog:*" });
        Assert.Equal("200", issued.Status);
        var token = JsonDocument.Parse(issued.Body).RootElement.GetProperty("token").GetString()!;

        await ui.AuthorizeAsync(new Dictionary<string, string> { ["auth-bearer-value"] = token });
        var listed = await ui.TryItOutAsync("Admin", "ListRepositories", none);
        Assert.True(listed.Status == "200", listed.Body);
        Assert.True(JsonDocument.Parse(listed.Body).RootElement.TryGetProperty("total", out _), listed.Body);
    }

    // With GunPrefixes=example.com/ and token auth: the decoded GUN is what the prefix check, the scope and the
    // redirect see; an encoded slash or dot segment never carries a GUN past them.
    [Fact]
    public async Task EncodedSlashes_DoNotLetAGunEscapeItsChecks()
    {
        var port = new Uri(fixture.Instance.Url).Port;
        var upload = await RawHttp.SendAsync(port, "/v2/evil.com%2Fexample.com%2Fapp/_trust/tuf/", method: "POST");
        Assert.Equal(400, upload.Status);
        Assert.Contains("\"INVALID_GUN\"", upload.Body, StringComparison.Ordinal);

        var outside = await RawHttp.SendAsync(port, "/v2/example.com%2F..%2F..%2Fevil.com/app/_trust/tuf/root.json");
        Assert.Equal(301, outside.Status);
        Assert.Equal("/evil.com/app/_trust/tuf/root.json", outside.Location);

        var control = await RawHttp.SendAsync(port, "/v2/example.com%2Fteam%2Fa%0Ab/_trust/tuf/root.json");
        Assert.Equal(404, control.Status);

        var challenged = await RawHttp.SendAsync(port, "/v2/example.com%2Fteam%2Fapp/_trust/tuf/root.json");
        Assert.Equal(401, challenged.Status);
        Assert.Contains(
            "scope=\"repository:example.com/team/app:pull\"",
            challenged.Headers.Single(h => h.StartsWith("WWW-Authenticate:", StringComparison.OrdinalIgnoreCase)),
            StringComparison.Ordinal);
    }
}
