using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>Raw HTTP checks of the Notary API on PostgreSQL.</summary>
public sealed class RawHttpOnPostgres(PostgresServerFixture fixture) : RawHttpTests(fixture.Instance), IClassFixture<PostgresServerFixture>;

/// <summary>Raw HTTP checks of the Notary API on the embedded SQLite default.</summary>
public sealed class RawHttpOnSqlite(SqliteServerFixture fixture) : RawHttpTests(fixture.Instance), IClassFixture<SqliteServerFixture>;

/// <summary>
/// The HTTP surface as notary-server answers it (spec server-api.md): status codes, exact error bodies, headers,
/// by-checksum and by-version reads, changefeed paging, every upload error — and that a refused request stores nothing.
/// </summary>
public abstract class RawHttpTests(TrustServerInstance server)
{
    private const string NotFoundWithDetail = "{\"errors\":[{\"code\":\"METADATA_NOT_FOUND\",\"message\":\"You have requested metadata that does not exist.\",\"detail\":{}}]}\n";
    private const string NotFoundWithoutDetail = "{\"errors\":[{\"code\":\"METADATA_NOT_FOUND\",\"message\":\"You have requested metadata that does not exist.\"}]}\n";

    private HttpClient Http => server.Http;

    [Fact]
    public async Task Ping_Health_UnknownRoutes_Methods_And_UncleanPaths()
    {
        await AssertBody(await Http.GetAsync("/v2/"), HttpStatusCode.OK, "{}");
        await AssertBody(await Http.GetAsync("/_notary_server/health"), HttpStatusCode.OK, "{}");
        await AssertBody(await Http.GetAsync("/v2/example.com/x/_trust/tuf/targets.key"), HttpStatusCode.NotFound, NotFoundWithoutDetail);
        await AssertBody(await Http.GetAsync("/nothing/here"), HttpStatusCode.NotFound, NotFoundWithoutDetail);
        await AssertBody(await Http.GetAsync("/v2/example.com/x/_trust/tuf/"), HttpStatusCode.NotFound, NotFoundWithoutDetail);
        await AssertBody(await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v2/example.com/x/_trust/tuf/root.json")), HttpStatusCode.NotFound, string.Empty);
        await AssertBody(await Http.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/v2/example.com/x/_trust/tuf/root.json")), HttpStatusCode.MethodNotAllowed, string.Empty);

        using var noRedirect = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = Http.BaseAddress };
        var redirect = await noRedirect.GetAsync("/v2/example.com//x/./_trust/tuf/root.json");
        Assert.Equal(HttpStatusCode.MovedPermanently, redirect.StatusCode);
        Assert.Equal("/v2/example.com/x/_trust/tuf/root.json", redirect.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Reads_CurrentByChecksumByVersion_WithNotaryHeaders()
    {
        var gun = await PublishedRepositoryAsync("reads");

        var root = await Http.GetAsync($"/v2/{gun}/_trust/tuf/root.json");
        Assert.Equal(HttpStatusCode.OK, root.StatusCode);
        Assert.Equal("public, max-age=300, s-maxage=300, must-revalidate", RawHeader(root, "Cache-Control"));
        Assert.NotNull(root.Content.Headers.LastModified);
        var rootBytes = await root.Content.ReadAsByteArrayAsync();
        Assert.Equal(rootBytes.Length, root.Content.Headers.ContentLength);
        var rootSha = Convert.ToHexStringLower(SHA256.HashData(rootBytes));

        var byChecksum = await Http.GetAsync($"/v2/{gun}/_trust/tuf/root.{rootSha}.json");
        Assert.Equal(HttpStatusCode.OK, byChecksum.StatusCode);
        Assert.Equal("public, max-age=2592000, s-maxage=2592000", RawHeader(byChecksum, "Cache-Control"));
        Assert.Equal(rootBytes, await byChecksum.Content.ReadAsByteArrayAsync());
        Assert.Equal(rootBytes, await Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/1.root.json"));
        Assert.Equal(rootBytes, await Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/01.root.json"));

        await AssertBody(await Http.GetAsync($"/v2/{gun}/_trust/tuf/root.{rootSha.ToUpperInvariant()}.json"), HttpStatusCode.NotFound, NotFoundWithDetail);
        await AssertBody(await Http.GetAsync($"/v2/{gun}/_trust/tuf/targets.{rootSha}.json"), HttpStatusCode.NotFound, NotFoundWithDetail);
        await AssertBody(await Http.GetAsync($"/v2/{gun}/_trust/tuf/root.{rootSha}{rootSha[..32]}.json"), HttpStatusCode.NotFound, NotFoundWithDetail);
        await AssertBody(await Http.GetAsync($"/v2/{gun}/_trust/tuf/0.root.json"), HttpStatusCode.NotFound, NotFoundWithDetail);
        await AssertBody(await Http.GetAsync($"/v2/{gun}/_trust/tuf/99.root.json"), HttpStatusCode.NotFound, NotFoundWithDetail);
        await AssertBody(await Http.GetAsync($"/v2/{gun}/_trust/tuf/99999999999999999999999.root.json"), HttpStatusCode.NotFound, NotFoundWithDetail);
        await AssertBody(await Http.GetAsync($"/v2/{gun}/_trust/tuf/targets/nope.json"), HttpStatusCode.NotFound, NotFoundWithDetail);
        await AssertBody(await Http.GetAsync($"/v2/{gun}-unknown/_trust/tuf/root.json"), HttpStatusCode.NotFound, NotFoundWithDetail);
        await AssertBody(await Http.GetAsync($"/v2/{gun}-unknown/_trust/tuf/timestamp.json"), HttpStatusCode.NotFound, NotFoundWithDetail);

        // The timestamp names the current snapshot, which names the current targets.
        var timestamp = JsonDocument.Parse(await Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/timestamp.json"));
        var snapshotSha = HexOfBase64(timestamp.RootElement.GetProperty("signed").GetProperty("meta").GetProperty("snapshot").GetProperty("hashes").GetProperty("sha256"));
        var snapshotBytes = await Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/snapshot.{snapshotSha}.json");
        Assert.Equal(snapshotBytes, await Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/snapshot.json"));
        var snapshot = JsonDocument.Parse(snapshotBytes);
        var targetsSha = HexOfBase64(snapshot.RootElement.GetProperty("signed").GetProperty("meta").GetProperty("targets").GetProperty("hashes").GetProperty("sha256"));
        Assert.Equal(await Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/targets.{targetsSha}.json"), await Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/targets.json"));
    }

    [Fact]
    public async Task KeyEndpoints_ReturnTheRootsKey_AndRotateReturnsOnePendingKey()
    {
        var gun = await PublishedRepositoryAsync("keys");
        var root = JsonDocument.Parse(await Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/root.json")).RootElement.GetProperty("signed");
        var timestampKeyId = root.GetProperty("roles").GetProperty("timestamp").GetProperty("keyids")[0].GetString()!;

        var current = await Http.GetStringAsync($"/v2/{gun}/_trust/tuf/timestamp.key");
        Assert.Matches("^\\{\"keytype\":\"ecdsa\",\"keyval\":\\{\"public\":\"[A-Za-z0-9+/=]+\",\"private\":null\\}\\}$", current);
        Assert.Equal(timestampKeyId, KeyId(current));

        var rotated = await Http.PostAsync($"/v2/{gun}/_trust/tuf/timestamp.key", null);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var rotatedKey = await rotated.Content.ReadAsStringAsync();
        Assert.NotEqual(timestampKeyId, KeyId(rotatedKey));
        Assert.Equal(rotatedKey, await (await Http.PostAsync($"/v2/{gun}/_trust/tuf/timestamp.key", null)).Content.ReadAsStringAsync());
        Assert.Equal(current, await Http.GetStringAsync($"/v2/{gun}/_trust/tuf/timestamp.key"));

        // A new repository gets one pending key per role until it is used.
        var newGun = gun + "-new";
        Assert.Equal(await Http.GetStringAsync($"/v2/{newGun}/_trust/tuf/snapshot.key"), await Http.GetStringAsync($"/v2/{newGun}/_trust/tuf/snapshot.key"));
        Assert.NotEqual(await Http.GetStringAsync($"/v2/{newGun}/_trust/tuf/snapshot.key"), await Http.GetStringAsync($"/v2/{newGun}/_trust/tuf/timestamp.key"));
    }

    [Fact]
    public async Task Changefeed_PagesForwardAndBackward_AndRejectsBadParameters()
    {
        var gun = await PublishedRepositoryAsync("changefeed");
        using (var client = server.NewClient())
        {
            await client.RunCheckedAsync(["delete", gun, "--remote"]);
        }

        var all = await ChangesAsync($"/v2/{gun}/_trust/changefeed?records=10");
        Assert.Equal(["update", "update", "deletion"], all.Select(r => r.GetProperty("Category").GetString()));
        Assert.Equal(["1", "2", "0"], all.Select(r => r.GetProperty("Version").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.All(all, r => Assert.Equal(gun, r.GetProperty("GUN").GetString()));
        Assert.Equal(string.Empty, all[2].GetProperty("SHA256").GetString());
        Assert.Matches("^[0-9a-f]{64}$", all[0].GetProperty("SHA256").GetString());
        Assert.Matches("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,9})?Z$", all[0].GetProperty("CreatedAt").GetString());
        var ids = all.Select(r => long.Parse(r.GetProperty("ID").GetString()!, System.Globalization.CultureInfo.InvariantCulture)).ToList();

        var afterFirst = await ChangesAsync($"/v2/{gun}/_trust/changefeed?records=1&change_id={ids[0]}");
        Assert.Equal([ids[1]], afterFirst.Select(Id));
        var lastTwo = await ChangesAsync($"/v2/{gun}/_trust/changefeed?records=-2&change_id=-1");
        Assert.Equal(ids[1..], lastTwo.Select(Id));
        var beforeLast = await ChangesAsync($"/v2/{gun}/_trust/changefeed?records=-5&change_id={ids[2]}");
        Assert.Equal(ids[..2], beforeLast.Select(Id));
        Assert.Contains(ids[2], (await ChangesAsync("/v2/_trust/changefeed?records=0&change_id=-1")).Select(Id));
        var empty = await Http.GetStringAsync($"/v2/{gun}/_trust/changefeed?records=5&change_id={ids[2]}");
        Assert.Equal("{\"count\":0,\"records\":[]}", empty);

        await AssertBody(await Http.GetAsync($"/v2/{gun}/_trust/changefeed"), HttpStatusCode.BadRequest,
            "{\"errors\":[{\"code\":\"INVALID_PARAMETERS\",\"message\":\"The parameters provided are not valid.\",\"detail\":\"invalid records parameter: strconv.ParseInt: parsing \\\"\\\": invalid syntax\"}]}\n");
        await AssertBody(await Http.GetAsync($"/v2/{gun}/_trust/changefeed?records=abc"), HttpStatusCode.BadRequest,
            "{\"errors\":[{\"code\":\"INVALID_PARAMETERS\",\"message\":\"The parameters provided are not valid.\",\"detail\":\"invalid records parameter: strconv.ParseInt: parsing \\\"abc\\\": invalid syntax\"}]}\n");
        await AssertBody(await Http.GetAsync($"/v2/{gun}/_trust/changefeed?records=99999999999"), HttpStatusCode.BadRequest,
            "{\"errors\":[{\"code\":\"INVALID_PARAMETERS\",\"message\":\"The parameters provided are not valid.\",\"detail\":\"invalid records parameter: strconv.ParseInt: parsing \\\"99999999999\\\": value out of range\"}]}\n");
        await AssertBody(await Http.GetAsync($"/v2/{gun}/_trust/changefeed?records=1&change_id=x"), HttpStatusCode.BadRequest,
            "{\"errors\":[{\"code\":\"INVALID_PARAMETERS\",\"message\":\"The parameters provided are not valid.\",\"detail\":{}}]}\n");
    }

    [Fact]
    public async Task Uploads_EveryErrorCode_StoresNothing()
    {
        var gun = await PublishedRepositoryAsync("upload-errors");
        var before = await StateAsync(gun);
        var targets = await Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/targets.json");
        var snapshot = await Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/snapshot.json");
        var url = $"/v2/{gun}/_trust/tuf/";

        await AssertError(await Http.PostAsync(url, new StringContent("{}", Encoding.UTF8, "application/json")), 400, "MALFORMED_UPLOAD");
        await AssertError(await Http.PostAsync(url, Raw("--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"targets\"\r\n\r\n{\"sig", "b")), 400, "MALFORMED_UPLOAD");
        await AssertError(await Http.PostAsync(url, Raw("no boundary anywhere", "b")), 400, "MALFORMED_UPLOAD");
        await AssertError(await Http.PostAsync(url, Multipart(("files", "", targets))), 400, "NO_FILENAME");
        await AssertError(await Http.PostAsync(url, Multipart(("files", ".json", targets))), 400, "NO_FILENAME");
        await AssertBody(await Http.PostAsync(url, Multipart(("files", "foo", targets))), HttpStatusCode.BadRequest,
            "{\"errors\":[{\"code\":\"INVALID_ROLE\",\"message\":\"The role you are attempting to operate on is invalid.\",\"detail\":\"foo\"}]}\n");
        await AssertError(await Http.PostAsync(url, Multipart(("files", "targets/../root", targets))), 400, "INVALID_ROLE");
        await AssertError(await Http.PostAsync(url, Multipart(("files", "targets", "{\"signed\":"u8.ToArray()))), 400, "MALFORMED_JSON");
        await AssertError(await Http.PostAsync(url, Multipart(("files", "targets.json", "[1,2]"u8.ToArray()))), 400, "MALFORMED_JSON");
        await AssertError(await Http.PostAsync(url, Multipart(("files", "targets", targets), ("files", "snapshot", snapshot))), 400, "VERSION", "{}");
        await AssertError(await Http.PostAsync(url, Multipart(("files", "targets", targets))), 400, "INVALID_UPDATE",
            "{\"Name\":\"ErrBadHierarchy\",\"Error\":{\"Missing\":\"snapshot\",\"Msg\":\"no snapshot was included in update and server does not hold current snapshot key for repository; "
            + $"sign the snapshot on the client, or run \\\"notary key rotate {gun} snapshot -r\\\" against this server\"}}}}");
        var tamperedTargets = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(targets).Replace("\"version\":", "\"version\": ", StringComparison.Ordinal));
        await AssertError(await Http.PostAsync(url, Multipart(("files", "targets", tamperedTargets), ("files", "snapshot", snapshot))), 400, "INVALID_UPDATE");
        // A multipart body without parts, exactly as the Go client writes it for an empty publish.
        await AssertBody(await Http.PostAsync($"/v2/{gun}-new/_trust/tuf/", Raw("\r\n--b--\r\n", "b")), HttpStatusCode.BadRequest,
            "{\"errors\":[{\"code\":\"INVALID_UPDATE\",\"message\":\"Update sent by the client is invalid.\",\"detail\":{\"Name\":\"ErrValidation\",\"Error\":{\"Msg\":\"no pre-existing root and no root provided in update.\"}}}]}\n");

        var longGun = "example.com/" + new string('a', 300);
        await AssertError(await Http.PostAsync($"/v2/{longGun}/_trust/tuf/", Multipart(("files", "targets", targets))), 400, "INVALID_GUN");
        await AssertBody(await Http.GetAsync($"/v2/{longGun}/_trust/tuf/root.json"), HttpStatusCode.NotFound, NotFoundWithoutDetail);

        Assert.Equal(before, await StateAsync(gun));
        await AssertBody(await Http.DeleteAsync($"/v2/{gun}-never-existed/_trust/tuf/"), HttpStatusCode.OK, string.Empty);
    }

    [Fact]
    public async Task Uploads_OverTheLimits_AreRefusedWith400()
    {
        using var directory = new TemporaryDirectory("trustserver-limits");
        await using var limited = await TrustServerInstance.StartAsync(
            new ServerStorage.Sqlite(directory.Combine("limits.db")),
            [new("Limits:MaxFileBytes", "2048"), new("Limits:MaxUploadBytes", "8192"), new("Limits:MaxParts", "3")]);
        var url = "/v2/example.com/limits/_trust/tuf/";
        var big = Encoding.UTF8.GetBytes("{\"signed\":{\"_type\":\"Targets\",\"pad\":\"" + new string('x', 4000) + "\"},\"signatures\":[]}");

        await AssertError(await limited.Http.PostAsync(url, Multipart(("files", "targets", big))), 400, "MALFORMED_UPLOAD");
        var minimal = "{\"signed\":{\"_type\":\"Targets\",\"expires\":\"2030-01-01T00:00:00Z\",\"version\":1},\"signatures\":[]}"u8.ToArray();
        var many = Enumerable.Range(0, 4).Select(i => ("files", "targets/r" + i, minimal)).ToArray();
        await AssertError(await limited.Http.PostAsync(url, Multipart(many)), 400, "MALFORMED_UPLOAD");
        var huge = Enumerable.Range(0, 6).Select(i => ("files", "targets/r" + i, new byte[1500])).ToArray();
        var response = await limited.Http.PostAsync(url, Multipart(huge));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task GunPrefixesAndNoCaching_AsConfigured()
    {
        using var directory = new TemporaryDirectory("trustserver-prefixes");
        await using var configured = await TrustServerInstance.StartAsync(
            new ServerStorage.Sqlite(directory.Combine("prefixes.db")),
            [
                new("Repositories:GunPrefixes:0", "docker.io/"), new("Repositories:GunPrefixes:1", "my-registry/"),
                new("Caching:MaxAge:CurrentMetadata", "0"), new("Caching:MaxAge:ConsistentMetadata", "0"),
            ]);

        // Outside the prefixes: updates are 400 INVALID_GUN with Go's list formatting, everything else a bare 404.
        await AssertBody(await configured.Http.PostAsync("/v2/example.com/x/_trust/tuf/", Raw("\r\n--b--\r\n", "b")), HttpStatusCode.BadRequest,
            "{\"errors\":[{\"code\":\"INVALID_GUN\",\"message\":\"The server does not support actions on images of this name.\",\"detail\":\"Require GUNs with prefix: [docker.io/ my-registry/]\"}]}\n");
        await AssertBody(await configured.Http.GetAsync("/v2/example.com/x/_trust/tuf/root.json"), HttpStatusCode.NotFound, NotFoundWithoutDetail);
        await AssertBody(await configured.Http.GetAsync("/v2/example.com/x/_trust/tuf/timestamp.key"), HttpStatusCode.NotFound, NotFoundWithoutDetail);
        await AssertBody(await configured.Http.GetAsync("/v2/example.com/x/_trust/changefeed?records=1"), HttpStatusCode.NotFound, NotFoundWithoutDetail);
        Assert.Equal(HttpStatusCode.OK, (await configured.Http.GetAsync("/v2/_trust/changefeed?records=1")).StatusCode);

        // Inside: works, and max-age 0 means no caching at all.
        var gun = "docker.io/library/prefixed";
        using var client = configured.NewClient();
        await client.RunCheckedAsync(["init", gun, "--publish"]);
        var root = await configured.Http.GetAsync($"/v2/{gun}/_trust/tuf/root.json");
        Assert.Equal("max-age=0, no-cache, no-store", RawHeader(root, "Cache-Control"));
        Assert.Equal("no-cache", RawHeader(root, "Pragma"));
        var byVersion = await configured.Http.GetAsync($"/v2/{gun}/_trust/tuf/1.root.json");
        Assert.Equal("max-age=0, no-cache, no-store", RawHeader(byVersion, "Cache-Control"));
    }

    private async Task<string> PublishedRepositoryAsync(string name)
    {
        var gun = $"example.com/raw/{name}-{Guid.NewGuid():N}"[..48];
        using var client = server.NewClient();
        using var files = new TemporaryDirectory("raw-payload");
        var payload = files.Combine("payload.txt");
        await File.WriteAllTextAsync(payload, "payload\n");
        await client.RunCheckedAsync(["init", gun, "--publish"]);
        await client.RunCheckedAsync(["add", gun, "v1", payload, "-p"]);
        return gun;
    }

    // Everything a refused upload could have changed: the current timestamp and the changefeed of the GUN.
    private async Task<string> StateAsync(string gun) =>
        await Http.GetStringAsync($"/v2/{gun}/_trust/tuf/timestamp.json") + await Http.GetStringAsync($"/v2/{gun}/_trust/changefeed?records=100");

    private async Task<List<JsonElement>> ChangesAsync(string url)
    {
        var document = JsonDocument.Parse(await Http.GetStringAsync(url));
        var records = document.RootElement.GetProperty("records").EnumerateArray().ToList();
        Assert.Equal(records.Count, document.RootElement.GetProperty("count").GetInt32());
        return records;
    }

    private static long Id(JsonElement record) => long.Parse(record.GetProperty("ID").GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    private static string KeyId(string keyJson)
    {
        var key = JsonDocument.Parse(keyJson).RootElement;
        var canonical = $"{{\"keytype\":\"{key.GetProperty("keytype").GetString()}\",\"keyval\":{{\"private\":null,\"public\":\"{key.GetProperty("keyval").GetProperty("public").GetString()}\"}}}}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    private static string? RawHeader(HttpResponseMessage response, string name) =>
        response.Headers.NonValidated.TryGetValues(name, out var values) ? string.Join(", ", values) : null;

    private static string HexOfBase64(JsonElement element) => Convert.ToHexStringLower(Convert.FromBase64String(element.GetString()!));

    private static MultipartFormDataContent Multipart(params (string Field, string FileName, byte[] Data)[] parts)
    {
        var content = new MultipartFormDataContent("trustserver-boundary");
        foreach (var (field, fileName, data) in parts)
        {
            var part = new ByteArrayContent(data);
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            part.Headers.ContentDisposition = new ContentDispositionHeaderValue("form-data") { Name = $"\"{field}\"", FileName = $"\"{fileName}\"" };
            content.Add(part);
        }

        return content;
    }

    private static ByteArrayContent Raw(string body, string boundary)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={boundary}");
        return content;
    }

    private static async Task AssertError(HttpResponseMessage response, int status, string code, string? detailJson = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"expected {status} {code}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.EndsWith("}\n", body, StringComparison.Ordinal);
        var error = Assert.Single(JsonDocument.Parse(body).RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal(code, error.GetProperty("code").GetString());
        if (detailJson is not null)
        {
            Assert.Equal(detailJson, error.GetProperty("detail").GetRawText());
        }
    }

    private static async Task AssertBody(HttpResponseMessage response, HttpStatusCode status, string? body)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {status}, got {response.StatusCode}: {text}");
        if (body is not null)
        {
            Assert.Equal(body, text);
        }
    }
}
