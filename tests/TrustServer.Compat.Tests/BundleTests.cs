using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TrustServer.Compat.Tests.Support;
using TrustServer.Data;
using TrustServer.Server.Import;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>
/// The source of the bundle tests: a TrustServer on SQLite holding repositories made by the real notary client (a
/// plain one, one with a delegation, one outside the exported prefix), exported once with <c>export</c>.
/// </summary>
public sealed class BundleSourceFixture : IAsyncLifetime
{
    public const string Prefix = "example.com/bundle/";
    public readonly string DelegatedGun = Prefix + "app";
    public readonly string PlainGun = Prefix + "plain";
    public readonly string OutsideGun = "example.com/other/app";

    public TemporaryDirectory Directory { get; } = new("bundle-source");

    public TrustServerInstance Source { get; private set; } = null!;

    public NotaryCli Owner { get; private set; } = null!;

    public string Payload { get; private set; } = null!;

    public string Bundle => Directory.Combine("export.tar.gz");

    public string Passphrase => Directory.Combine("passphrase");

    /// <summary>The source's SQLite file (metadata and keys).</summary>
    public string Database => Directory.Combine("source.db");

    public async Task InitializeAsync()
    {
        Source = await TrustServerInstance.StartAsync(new ServerStorage.Sqlite(Database), passphraseFile: Passphrase);
        Owner = Source.NewClient();
        Payload = Directory.Combine("payload.txt");
        await File.WriteAllTextAsync(Payload, "bundled bits\n");
        using var releases = TestCertificates.Create(new TestCertificateOptions { CommonName = "targets/releases" });
        var (releasesCrt, releasesKey) = releases.WriteFiles(Directory.Path, "releases");
        await Owner.RunCheckedAsync(["init", DelegatedGun, "--publish"]);
        await Owner.RunCheckedAsync(["add", DelegatedGun, "v1", Payload, "-p"]);
        await Owner.RunCheckedAsync(["add", DelegatedGun, "v2", Payload, "-p"]);
        await Owner.RunCheckedAsync(["key", "import", releasesKey, "--role", "targets/releases"]);
        await Owner.RunCheckedAsync(["delegation", "add", DelegatedGun, "targets/releases", releasesCrt, "--all-paths", "-p"]);
        await Owner.RunCheckedAsync(["add", DelegatedGun, "releases/r1", Payload, "--roles", "targets/releases", "-p"]);
        await Owner.RunCheckedAsync(["init", PlainGun, "--publish"]);
        await Owner.RunCheckedAsync(["add", PlainGun, "p1", Payload, "-p"]);
        await Owner.RunCheckedAsync(["init", OutsideGun, "--publish"]);

        var (exit, output, error) = await ExportAsync(["--gun-prefix", Prefix, "--out", Bundle]);
        Assert.True(exit == ImportCommand.Success, $"exit {exit}\n{output}\n{error}");
        Assert.Contains("exported 2 repositories", output, StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        Owner?.Dispose();
        if (Source is not null)
        {
            await Source.DisposeAsync();
        }

        Directory.Dispose();
    }

    public async Task<(int Exit, string Output, string Error)> ExportAsync(string[] arguments)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        string[] args = [.. arguments, "--Storage:Provider=Sqlite", $"--ConnectionStrings:Metadata=Data Source={Database}", $"--Signing:PassphraseFile={Passphrase}"];
        var exit = await ExportCommand.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }
}

/// <summary>
/// <c>export</c> and <c>import bundle</c>: a bundle restores every URL byte-identical into an empty server (SQLite
/// sharing the source's key store, and PostgreSQL without its keys), the owner's trust directory goes on publishing,
/// a re-import changes nothing; hostile bundles are refused with a clear message, exit 1 and nothing written.
/// </summary>
public sealed class BundleTests(BundleSourceFixture fixture) : IClassFixture<BundleSourceFixture>, IAsyncLifetime
{
    private readonly TemporaryDirectory _directory = new("bundle-destination");

    private string Database => _directory.Combine("destination.db");

    private string[] SqliteDestination =>
    [
        "--Storage:Provider=Sqlite", $"--ConnectionStrings:Metadata=Data Source={Database}",
        $"--ConnectionStrings:Keys=Data Source={fixture.Database}", $"--Signing:PassphraseFile={fixture.Passphrase}",
    ];

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _directory.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Export_RefusesToOverwrite_UnlessForced_AndLeavesNoTemporaryFile()
    {
        var before = await File.ReadAllBytesAsync(fixture.Bundle);
        var refused = await fixture.ExportAsync(["--gun-prefix", BundleSourceFixture.Prefix, "--out", fixture.Bundle]);
        Assert.Equal(ImportCommand.Failure, refused.Exit);
        Assert.Contains("--force", refused.Error, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(fixture.Bundle));

        var forced = _directory.Combine("forced.tar.gz");
        await File.WriteAllTextAsync(forced, "old");
        var result = await fixture.ExportAsync(["--gun-prefix", BundleSourceFixture.Prefix, "--out", forced, "--force"]);
        Assert.True(result.Exit == ImportCommand.Success, result.Output + result.Error);
        Assert.NotEqual("old"u8.ToArray(), await File.ReadAllBytesAsync(forced));
        Assert.Equal(["forced.tar.gz"], System.IO.Directory.GetFiles(_directory.Path).Select(Path.GetFileName));

        var usage = await fixture.ExportAsync(["--gun-prefix", "x"]);
        Assert.Equal(ImportCommand.Usage, usage.Exit);

        // A cancelled export (Ctrl+C) leaves neither the bundle nor its temporary file.
        var cancelledFile = _directory.Combine("cancelled.tar.gz");
        using (var output = new StringWriter())
        using (var error = new StringWriter())
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ExportCommand.RunAsync(
                ["--out", cancelledFile, "--Storage:Provider=Sqlite", $"--ConnectionStrings:Metadata=Data Source={fixture.Database}", $"--Signing:PassphraseFile={fixture.Passphrase}"],
                output, error, new CancellationToken(canceled: true)));
        }

        // A store without the schema: one line, exit 1, no file.
        using (var output = new StringWriter())
        using (var error = new StringWriter())
        {
            var exit = await ExportCommand.RunAsync(
                ["--out", cancelledFile, "--Storage:Provider=Sqlite", $"--ConnectionStrings:Metadata=Data Source={_directory.Combine("empty.db")}", $"--Signing:PassphraseFile={fixture.Passphrase}"],
                output, error);
            Assert.Equal(ImportCommand.Failure, exit);
            Assert.Contains("no schema", error.ToString(), StringComparison.Ordinal);
        }

        Assert.Equal(["forced.tar.gz"], System.IO.Directory.GetFiles(_directory.Path).Select(Path.GetFileName).Where(f => f != "empty.db"));
    }

    [Fact]
    public async Task Restore_IntoEmptySqliteServer_EveryUrlByteIdentical_OwnerPublishesOn_ReimportSkipsAll()
    {
        await using var destination = await TrustServerInstance.StartAsync(
            new ServerStorage.Sqlite(Database), [new("ConnectionStrings:Keys", $"Data Source={fixture.Database}")], passphraseFile: fixture.Passphrase);
        var report = _directory.Combine("report.json");
        var (exit, output, error) = await ImportAsync(["bundle", fixture.Bundle, "--report", report, .. SqliteDestination]);
        Assert.True(exit == ImportCommand.Success, $"exit {exit}\n{output}\n{error}");
        Assert.Contains("2 repositories: 2 ok", output, StringComparison.Ordinal);

        await AssertServedIdenticallyAsync(destination.Http, fixture.DelegatedGun, ["root", "targets", "snapshot", "timestamp", "targets/releases"]);
        await AssertServedIdenticallyAsync(destination.Http, fixture.PlainGun, ["root", "targets", "snapshot", "timestamp"]);
        Assert.Equal(HttpStatusCode.NotFound, (await destination.Http.GetAsync($"/v2/{fixture.OutsideGun}/_trust/tuf/root.json")).StatusCode);

        // The owner's trust directory continues against the restored server.
        await fixture.Owner.RunCheckedAsync(["-s", destination.Url, "add", fixture.DelegatedGun, "v3", fixture.Payload, "-p"]);
        await fixture.Owner.RunCheckedAsync(["-s", destination.Url, "add", fixture.DelegatedGun, "releases/r2", fixture.Payload, "--roles", "targets/releases", "-p"]);
        using var reader = destination.NewClient();
        var list = (await reader.RunCheckedAsync(["list", fixture.DelegatedGun])).StandardOutput;
        foreach (var target in new[] { "v1", "v2", "v3", "releases/r1", "releases/r2" })
        {
            Assert.Contains(target, list, StringComparison.Ordinal);
        }

        // Re-importing the same bundle writes nothing.
        (exit, output, error) = await ImportAsync(["bundle", fixture.Bundle, .. SqliteDestination]);
        Assert.True(exit == ImportCommand.Success, $"exit {exit}\n{output}\n{error}");
        Assert.Contains("files: 0 added", output, StringComparison.Ordinal);
        Assert.Contains("changefeed: 0 added", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_IntoEmptyPostgresServer_WithoutTheKeys_ByteIdentical_OwnerRotatesAndPublishes()
    {
        await using var database = new PostgresDatabaseFixture();
        await database.InitializeAsync();
        await using var destination = await TrustServerInstance.StartAsync(new ServerStorage.Postgres(database.ConnectionString), passphraseFile: _directory.Combine("pg-passphrase"));
        var (exit, output, error) = await ImportAsync(
        [
            "bundle", fixture.Bundle, "--Storage:Provider=Postgres", $"--ConnectionStrings:Metadata={database.ConnectionString}", $"--ConnectionStrings:Keys={database.ConnectionString}",
            $"--Signing:PassphraseFile={_directory.Combine("pg-passphrase")}",
        ]);
        Assert.True(exit == ImportCommand.Success, $"exit {exit}\n{output}\n{error}");
        Assert.Contains($"key rotate {fixture.PlainGun} timestamp -r", output, StringComparison.Ordinal);

        await AssertServedIdenticallyAsync(destination.Http, fixture.DelegatedGun, ["root", "targets", "snapshot", "timestamp", "targets/releases"]);
        await AssertServedIdenticallyAsync(destination.Http, fixture.PlainGun, ["root", "targets", "snapshot", "timestamp"]);

        await fixture.Owner.RunCheckedAsync(["-s", destination.Url, "key", "rotate", fixture.PlainGun, "timestamp", "-r"]);
        await fixture.Owner.RunCheckedAsync(["-s", destination.Url, "add", fixture.PlainGun, "p2", fixture.Payload, "-p"]);
        using var reader = destination.NewClient();
        var list = (await reader.RunCheckedAsync(["list", fixture.PlainGun])).StandardOutput;
        Assert.Contains("p1", list, StringComparison.Ordinal);
        Assert.Contains("p2", list, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostileBundles_AreRefused_WithExitOne_AndNothingWritten()
    {
        await using var destination = await TrustServerInstance.StartAsync(
            new ServerStorage.Sqlite(Database), [new("ConnectionStrings:Keys", $"Data Source={fixture.Database}")], passphraseFile: fixture.Passphrase);
        var entries = await ReadEntriesAsync(fixture.Bundle);
        var delegated = Uri.EscapeDataString(fixture.DelegatedGun) + "/";
        var victim = entries.First(e => e.Name.StartsWith(delegated, StringComparison.Ordinal) && e.Name.EndsWith("/1.json", StringComparison.Ordinal)).Name;

        // Whole-bundle faults: nothing at all is written.
        var traversal = await RewriteAsync("traversal", entries, list => list.Insert(0, ("../../etc/evil.json", "{}"u8.ToArray())));
        await AssertRefusedAsync(traversal, "not a safe relative path");

        var bytes = await File.ReadAllBytesAsync(fixture.Bundle);
        var truncated = _directory.Combine("truncated.tar.gz");
        await File.WriteAllBytesAsync(truncated, bytes[..(bytes.Length / 2)]);
        await AssertRefusedAsync(truncated, "not a complete gzip-compressed tar archive");

        var oversized = await RewriteAsync("oversized", entries, list => list.Insert(0, (delegated + "root/99.json", new byte[RepositoryBundle.MaxEntryBytes + 1])));
        await AssertRefusedAsync(oversized, "more than the limit");

        var unlisted = await RewriteAsync("unlisted", entries, list => list.Insert(1, (delegated + "extra/1.json", "{}"u8.ToArray())));
        await AssertRefusedAsync(unlisted, "is not in the manifest");

        var store = destination.Services.GetRequiredService<IMetadataStore>();
        Assert.Empty(await store.GetChangesAsync(null, 0, 100));
        Assert.Empty(await store.GetHighestVersionsAsync(fixture.DelegatedGun));

        // Per-repository faults: that repository fails and is not written; the others are restored.
        var tampered = await RewriteAsync("tampered", entries, list =>
        {
            var i = list.FindIndex(e => e.Name == victim);
            var data = (byte[])list[i].Data.Clone();
            data[data.Length / 2] ^= 0x01;
            list[i] = (victim, data);
        });
        var (exit, output, _) = await ImportAsync(["bundle", tampered, .. SqliteDestination]);
        Assert.Equal(ImportCommand.Failure, exit);
        Assert.Contains($"FAILED   {fixture.DelegatedGun}", output, StringComparison.Ordinal);
        Assert.Contains($"row {victim}", output, StringComparison.Ordinal);
        Assert.Contains("bytes hash to", output, StringComparison.Ordinal);
        Assert.Empty(await store.GetHighestVersionsAsync(fixture.DelegatedGun));
        Assert.NotEmpty(await store.GetHighestVersionsAsync(fixture.PlainGun));

        var missing = await RewriteAsync("missing", entries, list => list.RemoveAll(e => e.Name == victim));
        (exit, output, _) = await ImportAsync(["bundle", missing, .. SqliteDestination]);
        Assert.Equal(ImportCommand.Failure, exit);
        Assert.Contains($"FAILED   {fixture.DelegatedGun}", output, StringComparison.Ordinal);
        Assert.Contains("the manifest lists this file but the bundle does not hold it", output, StringComparison.Ordinal);
        Assert.Empty(await store.GetHighestVersionsAsync(fixture.DelegatedGun));
    }

    private async Task AssertRefusedAsync(string bundle, string reason)
    {
        var (exit, output, error) = await ImportAsync(["bundle", bundle, .. SqliteDestination]);
        Assert.True(exit == ImportCommand.Failure, $"exit {exit}\n{output}\n{error}");
        Assert.Contains("is refused (nothing written)", error, StringComparison.Ordinal);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private async Task AssertServedIdenticallyAsync(HttpClient restored, string gun, string[] roles)
    {
        var urls = 0;
        foreach (var role in roles)
        {
            var current = await fixture.Source.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/{role}.json");
            Assert.Equal(current, await restored.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/{role}.json"));
            var top = TrustServer.Tuf.Metadata.SignedEnvelope.Parse(current).Version;
            for (var version = 1; version <= top; version++)
            {
                var original = await fixture.Source.Http.GetAsync($"/v2/{gun}/_trust/tuf/{version}.{role}.json");
                var copy = await restored.GetAsync($"/v2/{gun}/_trust/tuf/{version}.{role}.json");
                Assert.Equal(original.StatusCode, copy.StatusCode);
                if (original.StatusCode == HttpStatusCode.OK)
                {
                    var bytes = await original.Content.ReadAsByteArrayAsync();
                    Assert.Equal(bytes, await copy.Content.ReadAsByteArrayAsync());
                    var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
                    Assert.Equal(bytes, await restored.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/{role}.{sha}.json"));
                    urls += 2;
                }
            }
        }

        Assert.True(urls >= 2 * (roles.Length + 1), $"only {urls} versioned URLs compared");
        Assert.Equal(await ChangesAsync(fixture.Source.Http, gun), await ChangesAsync(restored, gun));
    }

    private static async Task<List<string>> ChangesAsync(HttpClient http, string gun)
    {
        var body = JsonNode.Parse(await http.GetStringAsync($"/v2/{gun}/_trust/changefeed?change_id=0&records=1000"))!;
        var records = (body["records"]?.AsArray() ?? []).Select(r => $"{r!["ID"]} {r["GUN"]} {r["Version"]} {r["SHA256"]} {r["Category"]} {r["CreatedAt"]}").ToList();
        Assert.NotEmpty(records);
        return records;
    }

    private async Task<(int Exit, string Output, string Error)> ImportAsync(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await ImportCommand.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    private static async Task<List<(string Name, byte[] Data)>> ReadEntriesAsync(string bundle)
    {
        var entries = new List<(string, byte[])>();
        await using var file = File.OpenRead(bundle);
        await using var gzip = new GZipStream(file, CompressionMode.Decompress);
        await using var tar = new TarReader(gzip);
        while (await tar.GetNextEntryAsync() is { } entry)
        {
            using var data = new MemoryStream();
            await entry.DataStream!.CopyToAsync(data);
            entries.Add((entry.Name, data.ToArray()));
        }

        return entries;
    }

    // A copy of the bundle with its entries changed by the attacker (the manifest stays as exported).
    private async Task<string> RewriteAsync(string name, List<(string Name, byte[] Data)> entries, Action<List<(string Name, byte[] Data)>> change)
    {
        var copy = new List<(string Name, byte[] Data)>(entries);
        change(copy);
        var path = _directory.Combine(name + ".tar.gz");
        await using var file = File.Create(path);
        await using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        await using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (var (entryName, data) in copy)
        {
            await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, entryName) { DataStream = new MemoryStream(data) });
        }

        return path;
    }
}
