using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TrustServer.Compat.Tests.Support;
using TrustServer.Data;
using TrustServer.Testing;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Compat.Tests;

/// <summary>
/// Repositories copied from another notary-server whose server keys TrustServer does not hold (a hosted service
/// keeps its timestamp key): served as they are, a publish or an expired re-sign that needs a missing key gets a
/// 400 naming the fix, and the real client's <c>key rotate … -r</c> against TrustServer makes it publishable again.
/// The repositories are made by the real client on the real notary-server 0.7.0 and stored byte for byte.
/// </summary>
public sealed class ImportedServerKeysTests : IAsyncLifetime
{
    private readonly TemporaryDirectory _directory = new("imported-keys");
    private readonly ManualClock _clock = new();
    private ReferenceNotaryServer? _source;
    private TrustServerInstance? _server;

    private ReferenceNotaryServer Source => _source!;

    private TrustServerInstance Server => _server!;

    public async Task InitializeAsync()
    {
        _source = await ReferenceNotaryServer.StartAsync();
        _server = await TrustServerInstance.StartAsync(
            new ServerStorage.Sqlite(_directory.Combine("data", "trustserver.db")), configure: s => s.AddSingleton<TimeProvider>(_clock));
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_source is not null)
        {
            await _source.DisposeAsync();
        }

        _directory.Dispose();
    }

    [Fact]
    public async Task ClientManagedSnapshot_PublishNamesTheFix_TimestampRotationMakesItPublishable()
    {
        var gun = NewGun("ts-only");
        using var owner = new NotaryCli(Source.Url);
        var hello = Payload("hello.txt", "hello\n");
        await owner.RunCheckedAsync(["init", gun, "--publish"]);
        await owner.RunCheckedAsync(["add", gun, "v1", hello, "--publish"]);
        var copied = await CopyCurrentAsync(gun);

        // Served as it is.
        foreach (var (role, bytes) in copied)
        {
            Assert.Equal(bytes, await Server.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/{role}.json"));
        }

        // A publish from the owner's trust directory needs the timestamp key: a 400 the client prints, with the fix.
        var refused = await owner.RunAsync(["-s", Server.Url, "add", gun, "v2", hello, "--publish"]);
        Assert.False(refused.Succeeded, refused.ToString());
        Assert.Contains($"notary key rotate {gun} timestamp -r", refused.StandardOutput + refused.StandardError, StringComparison.Ordinal);
        Assert.Equal(copied, await CurrentAsync(gun));

        // An expired timestamp cannot be re-signed: not Go's 500 but a 400 naming the fix; nothing is stored.
        _clock.Advance(TimeSpan.FromDays(15));
        var expired = await Server.Http.GetAsync($"/v2/{gun}/_trust/tuf/timestamp.json");
        var body = await expired.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, expired.StatusCode);
        var error = JsonNode.Parse(body)!["errors"]![0]!;
        Assert.Equal("INVALID_UPDATE", (string?)error["code"]);
        Assert.Equal("ErrValidation", (string?)error["detail"]!["Name"]);
        Assert.Contains($"notary key rotate {gun} timestamp -r", (string?)error["detail"]!["Error"]!["Msg"], StringComparison.Ordinal);
        _clock.Advance(TimeSpan.FromDays(-15));
        Assert.Equal(copied, await CurrentAsync(gun));

        // The fix, from the same trust directory: then publishes work, and a new client trusts the result.
        await owner.RunCheckedAsync(["-s", Server.Url, "key", "rotate", gun, "timestamp", "-r"]);
        await owner.RunCheckedAsync(["-s", Server.Url, "add", gun, "v2", hello, "--publish"]);
        using var reader = Server.NewClient();
        var list = (await reader.RunCheckedAsync(["list", gun])).StandardOutput;
        Assert.Contains("v1", list, StringComparison.Ordinal);
        Assert.Contains("v2", list, StringComparison.Ordinal);

        // And the server re-signs its own timestamp once it expires.
        _clock.Advance(TimeSpan.FromDays(15));
        Assert.Equal(HttpStatusCode.OK, (await Server.Http.GetAsync($"/v2/{gun}/_trust/tuf/timestamp.json")).StatusCode);
    }

    [Fact]
    public async Task ServerManagedSnapshot_BothKeysMissing_NamesTheWayOut_WhichWorks()
    {
        // Docker's way: the snapshot key is the server's too. Neither key can leave the source server.
        var gun = NewGun("docker-style");
        using var owner = new NotaryCli(Source.Url);
        var hello = Payload("hello.txt", "hello\n");
        await owner.RunCheckedAsync(["init", gun]);
        await owner.RunCheckedAsync(["key", "rotate", gun, "snapshot", "-r"]);
        await owner.RunCheckedAsync(["add", gun, "v1", hello, "--publish"]);
        var copied = await CopyCurrentAsync(gun);

        var refused = await owner.RunAsync(["-s", Server.Url, "add", gun, "v2", hello, "--publish"]);
        Assert.False(refused.Succeeded, refused.ToString());
        Assert.Contains(ServerKeyFix.NeitherKeyHeld(gun), refused.StandardOutput + refused.StandardError, StringComparison.Ordinal);
        var rotateHere = await owner.RunAsync(["-s", Server.Url, "key", "rotate", gun, "timestamp", "-r"]);
        Assert.False(rotateHere.Succeeded, rotateHere.ToString());
        Assert.Equal(copied, await CurrentAsync(gun));

        // The way out the message names: a client snapshot key on the source, import again, rotate the timestamp here.
        await owner.RunCheckedAsync(["key", "rotate", gun, "snapshot"]);
        await CopyCurrentAsync(gun);
        await owner.RunCheckedAsync(["-s", Server.Url, "key", "rotate", gun, "timestamp", "-r"]);
        await owner.RunCheckedAsync(["-s", Server.Url, "key", "rotate", gun, "snapshot", "-r"]);
        await owner.RunCheckedAsync(["-s", Server.Url, "add", gun, "v2", hello, "--publish"]);
        using var reader = Server.NewClient();
        Assert.Contains("v2", (await reader.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);
    }

    // Stores the source's current files that are newer than what TrustServer holds, in one commit (what an import does).
    private async Task<Dictionary<string, byte[]>> CopyCurrentAsync(string gun)
    {
        using var http = new HttpClient { BaseAddress = new Uri(Source.Url) };
        var current = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var role in new[] { RoleName.Root, RoleName.Targets, RoleName.Snapshot, RoleName.Timestamp })
        {
            current[role] = await http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/{role}.json");
        }

        var store = Server.Services.GetRequiredService<IMetadataStore>();
        var highest = await store.GetHighestVersionsAsync(gun);
        var files = current
            .Select(f => new MetadataFile(f.Key, SignedEnvelope.Parse(f.Value).Version, f.Value))
            .Where(f => f.Version > highest.GetValueOrDefault(f.Role))
            .ToList();
        Assert.Equal(CommitOutcome.Committed, await store.CommitAsync(gun, highest.TryGetValue(RoleName.Timestamp, out var ts) ? ts : null, files, new AuditContext(AuditActions.Import, AuditActor.System("test-copy"))));
        Server.Services.GetRequiredService<TrustServer.Server.Notary.MetadataReadCache>().Invalidate(gun);
        return current;
    }

    private async Task<Dictionary<string, byte[]>> CurrentAsync(string gun)
    {
        var current = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var role in new[] { RoleName.Root, RoleName.Targets, RoleName.Snapshot, RoleName.Timestamp })
        {
            current[role] = await Server.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/{role}.json");
        }

        return current;
    }

    private static string NewGun(string name) => $"example.com/imported/{name}-{Guid.NewGuid():N}"[..60];

    private string Payload(string name, string content)
    {
        var path = _directory.Combine(name);
        File.WriteAllText(path, content);
        return path;
    }
}
