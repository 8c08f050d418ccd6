using System.Security.Cryptography;
using System.Text;
using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>The real notary 0.7.0 client against TrustServer on PostgreSQL.</summary>
public sealed class NotaryClientFlowsOnPostgres(PostgresServerFixture fixture) : NotaryClientFlowTests(fixture.Instance), IClassFixture<PostgresServerFixture>;

/// <summary>The real notary 0.7.0 client against TrustServer on the embedded SQLite default.</summary>
public sealed class NotaryClientFlowsOnSqlite(SqliteServerFixture fixture) : NotaryClientFlowTests(fixture.Instance), IClassFixture<SqliteServerFixture>;

/// <summary>
/// Everyday notary client work against a real TrustServer: the client must not be able to tell it from
/// notary-server. Each test uses its own GUN on the shared server.
/// </summary>
public abstract class NotaryClientFlowTests(TrustServerInstance server) : IDisposable
{
    private readonly TemporaryDirectory _files = new("notary-payload");

    [Fact]
    public async Task ClientManagedSnapshot_PublishListLookupVerifyRemoveRotateDeleteRecreate()
    {
        var gun = NewGun("client-snapshot");
        using var client = server.NewClient();
        var hello = Payload("hello.txt", "hello, trust\n");

        await client.RunCheckedAsync(["init", gun, "--publish"]);
        await client.RunCheckedAsync(["add", gun, "v1", hello, "--publish"]);

        var list = await client.RunCheckedAsync(["list", gun]);
        Assert.Contains("v1", list.StandardOutput, StringComparison.Ordinal);
        var lookup = await client.RunCheckedAsync(["lookup", gun, "v1"]);
        Assert.Contains(Sha256Hex(hello), lookup.StandardOutput, StringComparison.Ordinal);
        var verify = await client.RunCheckedAsync(["verify", gun, "v1"], stdin: File.ReadAllText(hello));
        Assert.Equal(File.ReadAllText(hello), verify.StandardOutput);
        var tampered = await client.RunAsync(["verify", gun, "v1"], stdin: "something else\n");
        Assert.False(tampered.Succeeded, tampered.ToString());

        // Staged changes: status shows them, reset drops them, nothing reaches the server.
        await client.RunCheckedAsync(["add", gun, "staged", hello]);
        Assert.Contains("staged", (await client.RunCheckedAsync(["status", gun])).StandardOutput, StringComparison.Ordinal);
        await client.RunCheckedAsync(["reset", gun, "--all"]);
        Assert.DoesNotContain("staged", (await client.RunCheckedAsync(["status", gun])).StandardOutput, StringComparison.Ordinal);

        // -p on remove; a second client with its own trust directory sees the published state (TOFU).
        await client.RunCheckedAsync(["add", gun, "v2", hello, "-p"]);
        await client.RunCheckedAsync(["remove", gun, "v1", "-p"]);
        using var other = server.NewClient();
        var otherList = (await other.RunCheckedAsync(["list", gun])).StandardOutput;
        Assert.Contains("v2", otherList, StringComparison.Ordinal);
        Assert.DoesNotContain("v1 ", otherList, StringComparison.Ordinal);

        // Key rotations the client holds: targets, then root (confirmed with "yes"); the other client follows.
        await client.RunCheckedAsync(["key", "rotate", gun, "targets"]);
        await client.RunCheckedAsync(["key", "rotate", gun, "root"], stdin: "yes\n");
        await client.RunCheckedAsync(["add", gun, "v3", hello, "-p"]);
        Assert.Contains("v3", (await other.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);

        // delete --remote, then the GUN is new again and can be re-created from scratch.
        await client.RunCheckedAsync(["delete", gun, "--remote"]);
        using var fresh = server.NewClient();
        var gone = await fresh.RunAsync(["list", gun]);
        Assert.False(gone.Succeeded, gone.ToString());
        Assert.Contains("does not have trust data", gone.StandardOutput + gone.StandardError, StringComparison.Ordinal);
        await fresh.RunCheckedAsync(["init", gun, "--publish"]);
        await fresh.RunCheckedAsync(["add", gun, "again", hello, "-p"]);
        Assert.Contains("again", (await fresh.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerManagedSnapshot_RotationsOfSnapshotAndTimestampKeys()
    {
        var gun = NewGun("server-snapshot");
        using var client = server.NewClient();
        var hello = Payload("hello.txt", "hello, server snapshot\n");

        // init, hand the snapshot key to the server before the first publish: the server signs snapshot v1.
        await client.RunCheckedAsync(["init", gun]);
        await client.RunCheckedAsync(["key", "rotate", gun, "snapshot", "-r"]);
        await client.RunCheckedAsync(["add", gun, "s1", hello]);
        await client.RunCheckedAsync(["publish", gun]);
        await client.RunCheckedAsync(["add", gun, "s2", hello, "-p"]);

        using var other = server.NewClient();
        var list = (await other.RunCheckedAsync(["list", gun])).StandardOutput;
        Assert.Contains("s1", list, StringComparison.Ordinal);
        Assert.Contains("s2", list, StringComparison.Ordinal);

        // New server keys: timestamp, then snapshot again; both clients keep working.
        await client.RunCheckedAsync(["key", "rotate", gun, "timestamp", "-r"]);
        await client.RunCheckedAsync(["key", "rotate", gun, "snapshot", "-r"]);
        await client.RunCheckedAsync(["add", gun, "s3", hello, "-p"]);
        Assert.Contains("s3", (await other.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);

        // And back to a client-held snapshot key.
        await client.RunCheckedAsync(["key", "rotate", gun, "snapshot"]);
        await client.RunCheckedAsync(["add", gun, "s4", hello, "-p"]);
        Assert.Contains("s4", (await other.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);
        var keys = (await client.RunCheckedAsync(["key", "list"])).StandardOutput;
        Assert.Contains("snapshot", keys, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delegations_AddPublishLookupWitnessPurgeRemove()
    {
        var gun = NewGun("delegations");
        using var client = server.NewClient();
        var release = Payload("release.txt", "release bits\n");
        using var releasesCert = TestCertificates.Create(new TestCertificateOptions { CommonName = "targets/releases" });
        var (releasesCrt, releasesKey) = releasesCert.WriteFiles(_files.Path, "releases");
        using var beta = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var betaKey = Write("beta.pem", beta.ExportPkcs8PrivateKeyPem() + "\n");
        var betaPub = Write("beta.pub", beta.ExportSubjectPublicKeyInfoPem() + "\n");

        await client.RunCheckedAsync(["init", gun, "--publish"]);
        await client.RunCheckedAsync(["key", "import", releasesKey, "--role", "targets/releases"]);
        await client.RunCheckedAsync(["delegation", "add", gun, "targets/releases", releasesCrt, "--all-paths", "-p"]);
        await client.RunCheckedAsync(["add", gun, "releases/v1", release, "--roles", "targets/releases", "-p"]);

        await client.RunCheckedAsync(["key", "import", betaKey, "--role", "targets/releases/beta"]);
        await client.RunCheckedAsync(["delegation", "add", gun, "targets/releases/beta", betaPub, "--paths", "beta/", "-p"]);
        await client.RunCheckedAsync(["add", gun, "beta/b1", release, "--roles", "targets/releases/beta", "-p"]);

        using var other = server.NewClient();
        Assert.Contains(Sha256Hex(release), (await other.RunCheckedAsync(["lookup", gun, "releases/v1"])).StandardOutput, StringComparison.Ordinal);
        Assert.Contains(Sha256Hex(release), (await other.RunCheckedAsync(["lookup", gun, "beta/b1"])).StandardOutput, StringComparison.Ordinal);
        var delegations = (await other.RunCheckedAsync(["delegation", "list", gun])).StandardOutput;
        Assert.Contains("targets/releases/beta", delegations, StringComparison.Ordinal);
        Assert.Contains("beta/", delegations, StringComparison.Ordinal);

        // A path outside the delegation's paths never gets published.
        await client.RunAsync(["add", gun, "elsewhere/x", release, "--roles", "targets/releases/beta", "-p"]);
        await client.RunCheckedAsync(["reset", gun, "--all"]);
        Assert.DoesNotContain("elsewhere/x", (await other.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);

        await client.RunCheckedAsync(["witness", gun, "targets/releases", "-p"]);
        var betaKeyId = Sha256Hex(Encoding.ASCII.GetBytes(
            $"{{\"keytype\":\"ecdsa\",\"keyval\":{{\"private\":null,\"public\":\"{Convert.ToBase64String(beta.ExportSubjectPublicKeyInfo())}\"}}}}"));
        await client.RunCheckedAsync(["delegation", "purge", gun, "--key", betaKeyId, "-p"]);
        await client.RunCheckedAsync(["delegation", "remove", gun, "targets/releases/beta", "-y", "-p"]);

        var after = (await other.RunCheckedAsync(["delegation", "list", gun])).StandardOutput;
        Assert.DoesNotContain("targets/releases/beta", after, StringComparison.Ordinal);
        Assert.Contains("releases/v1", (await other.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _files.Dispose();
        GC.SuppressFinalize(this);
    }

    private static string NewGun(string name) => $"example.com/compat/{name}-{Guid.NewGuid():N}"[..60];

    private string Payload(string name, string content) => Write(name, content);

    private string Write(string name, string content)
    {
        var path = _files.Combine(name);
        File.WriteAllText(path, content);
        return path;
    }

    private static string Sha256Hex(string path) => Sha256Hex(File.ReadAllBytes(path));

    private static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
