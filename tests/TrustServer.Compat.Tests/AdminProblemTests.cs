using System.Net;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>
/// Every admin API error is an RFC 7807 problem (type, title, status, detail; <c>application/problem+json</c>) in
/// Production, where binding failures used to be empty 400s: bad parameters, unknown paths and methods, and a real
/// failure (the database's table dropped underneath the server). Notary routes keep their envelope.
/// </summary>
public sealed class AdminProblemTests : IAsyncLifetime
{
    private readonly TemporaryDirectory _directory = new("admin-problems");
    private TrustServerInstance _server = null!;

    private string Database => _directory.Combine("data", "trustserver.db");

    public async Task InitializeAsync() => _server = await TrustServerInstance.StartAsync(new ServerStorage.Sqlite(Database));

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task EveryAdminError_IsAProblem_NotaryRoutesKeepTheirEnvelope()
    {
        foreach (var (path, status, detail) in new[]
                 {
                     ("/api/admin/v1/repositories?page=abc", HttpStatusCode.BadRequest, "int page"),
                     ("/api/admin/v1/repositories?pageSize=1e3", HttpStatusCode.BadRequest, "int pageSize"),
                     ("/api/admin/v1/repositories?page=0", HttpStatusCode.BadRequest, "'page'"),
                     ("/api/admin/v1/repositories?pageSize=501", HttpStatusCode.BadRequest, "'pageSize'"),
                     ("/api/admin/v1/expiring?days=soon", HttpStatusCode.BadRequest, "int days"),
                     ("/api/admin/v1/expiring?days=99999999999", HttpStatusCode.BadRequest, "int days"),
                     ("/api/admin/v1/expiring?days=-1", HttpStatusCode.BadRequest, "'days'"),
                     ("/api/admin/v1/expiring?renewedBy=me", HttpStatusCode.BadRequest, "'renewedBy'"),
                     ("/api/admin/v1/audit?from=yesterday", HttpStatusCode.BadRequest, "'from'"),
                     ("/api/admin/v1/repository", HttpStatusCode.BadRequest, "'gun'"),
                     ("/api/admin/v1/repository/history?gun=example.com/x&role=..", HttpStatusCode.BadRequest, "role"),
                     ("/api/admin/v1/retention?gun=" + new string('a', 300), HttpStatusCode.BadRequest, "'gun'"),
                     ("/api/admin/v1/repository?gun=example.com/none", HttpStatusCode.NotFound, "example.com/none"),
                     ("/api/admin/v1/nothing", HttpStatusCode.NotFound, "/api/admin/v1/nothing"),
                     ("/api/other", HttpStatusCode.NotFound, "/api/other"),
                 })
        {
            await AssertProblemAsync(await _server.Http.GetAsync(path), status, detail);
        }

        var post = await _server.Http.PostAsync("/api/admin/v1/repositories", new StringContent("{}"));
        await AssertProblemAsync(post, HttpStatusCode.MethodNotAllowed, "GET");
        Assert.Equal("GET", string.Join(",", post.Content.Headers.Allow));

        // The Notary routes' errors are unchanged.
        var notary = await _server.Http.GetAsync("/v2/example.com/none/_trust/tuf/root.json");
        Assert.Equal(HttpStatusCode.NotFound, notary.StatusCode);
        Assert.StartsWith("{\"errors\":[{\"code\":\"METADATA_NOT_FOUND\"", await notary.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DatabaseFailure_IsA500Problem_WithoutInternals()
    {
        await using (var connection = new SqliteConnection($"Data Source={Database};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "DROP TABLE tuf_files";
            await command.ExecuteNonQueryAsync();
        }

        var response = await _server.Http.GetAsync("/api/admin/v1/repositories");
        var body = await AssertProblemAsync(response, HttpStatusCode.InternalServerError, "request id");
        Assert.DoesNotContain("tuf_files", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Sqlite", body, StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<string> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detailPart)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.RequestMessage?.RequestUri}: {status} expected, got {response.StatusCode} {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.StartsWith("https://tools.ietf.org/html/rfc9110#section-15.", problem.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        Assert.Contains(detailPart, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        return body;
    }
}
