using System.Net;
using System.Text.Json;
using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>
/// <c>openapi.yaml</c> at the repository root is the API contract: the document the server serves must equal it, and
/// Swagger UI must render it in a real (headless) browser.
/// </summary>
public sealed class OpenApiTests(SqliteServerFixture fixture) : IClassFixture<SqliteServerFixture>
{
    private static readonly string[] NotaryOperations =
    [
        "Ping", "UpdateTUF", "DeleteTUF", "GetRoleByHash", "GetRoleByVersion", "GetRole", "GetKey", "RotateKey",
        "GetRepositoryChangefeed", "GetChangefeed", "NotaryHealth", "Metrics",
    ];

    private static readonly string[] AdminOperations = ["ListRepositories", "GetRepository", "GetRoleHistory", "GetExpiring"];

    private readonly TrustServerInstance _server = fixture.Instance;

    [Fact]
    public async Task ServedDocument_EqualsOpenApiYaml()
    {
        var served = Normalize(await _server.Http.GetStringAsync("/swagger/v1/swagger.yaml"));
        var committedPath = Path.Combine(RepositoryRoot(), "openapi.yaml");
        var committed = Normalize(await File.ReadAllTextAsync(committedPath));
        if (served != committed)
        {
            var actual = Path.Combine(AppContext.BaseDirectory, "openapi.actual.yaml");
            await File.WriteAllTextAsync(actual, served);
            Assert.Fail($"The served OpenAPI document differs from {committedPath}. If the change is intended, copy {actual} over it.");
        }
    }

    [Fact]
    public async Task Document_DescribesEveryNotaryAndAdminOperation()
    {
        using var document = JsonDocument.Parse(await _server.Http.GetStringAsync("/swagger/v1/swagger.json"));
        var operations = document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject())
            .Where(o => o.Value.ValueKind == JsonValueKind.Object && o.Value.TryGetProperty("operationId", out _))
            .Select(o => o.Value.GetProperty("operationId").GetString())
            .ToHashSet();
        Assert.Superset(NotaryOperations.Concat(AdminOperations).ToHashSet<string?>(), operations);
        var update = document.RootElement.GetProperty("paths").GetProperty("/v2/{gun}/_trust/tuf/").GetProperty("post");
        Assert.True(update.GetProperty("requestBody").GetProperty("content").TryGetProperty("multipart/form-data", out _));
        Assert.Contains("VERSION", update.GetProperty("responses").GetProperty("400").GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SwaggerUi_RendersTheOperationsInHeadlessChromium()
    {
        Assert.Equal(HttpStatusCode.OK, (await _server.Http.GetAsync("/swagger/index.html")).StatusCode);
        var chromium = File.Exists("/usr/bin/chromium")
            ? "/usr/bin/chromium"
            : throw new InvalidOperationException("chromium is not installed: `apt-get install -y chromium` (scripts/test.sh does it).");
        using var profile = new TemporaryDirectory("chromium-profile");
        var result = await ProcessRunner.RunAsync(
            chromium,
            ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", $"--user-data-dir={profile.Path}",
             "--virtual-time-budget=20000", "--dump-dom", $"{_server.Url}/swagger/index.html"],
            TimeSpan.FromSeconds(90));

        Assert.True(result.Succeeded, result.ToString());
        var dom = result.StandardOutput;
        Assert.Contains("TrustServer", dom, StringComparison.Ordinal);
        foreach (var path in new[] { "/v2/{gun}/_trust/tuf/", "/v2/{gun}/_trust/tuf/{role}.json", "/v2/_trust/changefeed", "/api/admin/v1/repositories", "/healthz/ready" })
        {
            Assert.Contains(path, WebUtility.HtmlDecode(dom), StringComparison.Ordinal);
        }

        Assert.Contains("opblock-tag", dom, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SwaggerUi_TryItOut_OnANotaryRouteWithARealGun_Answers200()
    {
        const string gun = "example.com/swagger/app";
        using (var client = _server.NewClient())
        {
            await client.RunCheckedAsync(["init", gun, "--publish"]);
        }

        var root = await _server.Http.GetStringAsync($"/v2/{gun}/_trust/tuf/root.json");
        await using var ui = await SwaggerUiBrowser.OpenAsync(_server.Url);
        var (status, url, body) = await ui.TryItOutAsync("Notary", "GetRole", new Dictionary<string, string> { ["gun"] = gun, ["role"] = "root" });

        // Swagger UI encodes the GUN's slashes; the server decodes them as notary-server does.
        Assert.Contains("/v2/example.com%2Fswagger%2Fapp/_trust/tuf/root.json", url, StringComparison.Ordinal);
        Assert.Equal("200", status);
        Assert.Equal(JsonDocument.Parse(root).RootElement.GetProperty("signed").GetProperty("version").GetInt64(), JsonDocument.Parse(body).RootElement.GetProperty("signed").GetProperty("version").GetInt64());
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd() + "\n";

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "TrustServer.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("TrustServer.sln not found above " + AppContext.BaseDirectory);
    }
}
