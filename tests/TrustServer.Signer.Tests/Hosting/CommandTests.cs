using TrustServer.Data;
using TrustServer.Signer.Tests.Support;
using TrustServer.Signing.Keys;
using TrustServer.Testing;
using TrustServer.Tuf.Keys;

namespace TrustServer.Signer.Tests.Hosting;

/// <summary>The <c>migrate</c> and <c>reencrypt</c> commands (DESIGN.md §6).</summary>
public sealed class CommandTests
{
    [Fact]
    public async Task Migrate_CreatesKeyDatabaseAndExits()
    {
        using var directory = new TemporaryDirectory("signer-migrate");
        var database = directory.Combine("data", "signer.db");
        var (exitCode, output, _) = await RunAsync(["migrate", .. Settings(database, "migrate_alias")]);
        Assert.Equal(0, exitCode);
        Assert.Contains("migrations applied", output, StringComparison.Ordinal);
        Assert.True(File.Exists(database));
    }

    [Fact]
    public async Task Migrate_WithoutDefaultAlias_ExitsWithClearMessage()
    {
        using var directory = new TemporaryDirectory("signer-noalias");
        var (exitCode, _, error) = await RunAsync(["migrate", "--Storage:Provider=Sqlite", $"--ConnectionStrings:Keys=Data Source={directory.Combine("signer.db")}"]);
        Assert.Equal(1, exitCode);
        Assert.Contains("Keys:DefaultAlias is required", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reencrypt_AllKeys_MovesThemToNewAlias()
    {
        using var directory = new TemporaryDirectory("signer-reencrypt");
        var database = directory.Combine("signer.db");
        TestPassphrases.Set("reencrypt_old", "old-passphrase");
        TestPassphrases.Set("reencrypt_new", "new-passphrase");
        var connection = $"Data Source={database};Pooling=False";
        var before = new KeyStore(StorageProvider.Sqlite, connection, "reencrypt_old", new EnvironmentPassphraseSource());
        await before.MigrateAsync();
        var ecdsa = await before.CreateKeyAsync("docker.io/reencrypt", "timestamp", KeyType.Ecdsa);
        var ed25519 = await before.CreateKeyAsync("docker.io/reencrypt", "snapshot", KeyType.Ed25519);

        var (exitCode, output, error) = await RunAsync(["reencrypt", "reencrypt_new", .. Settings(database, "reencrypt_old")]);
        Assert.True(exitCode == 0, error);
        Assert.Contains("re-encrypted 2 keys under passphrase alias reencrypt_new", output, StringComparison.Ordinal);

        // Only the new passphrase opens them now.
        var after = new KeyStore(StorageProvider.Sqlite, connection, "reencrypt_new", new StaticPassphraseSource([new("reencrypt_new", "new-passphrase")]));
        foreach (var key in new[] { ecdsa, ed25519 })
        {
            var signature = await after.SignAsync(key.KeyId, "content"u8.ToArray());
            Assert.NotNull(signature);
            Assert.True(SignatureVerifier.Verify(key.PublicKey, signature.Method, "content"u8, signature.Value));
        }
    }

    [Fact]
    public async Task Reencrypt_NewAliasWithoutPassphrase_FailsAndChangesNothing()
    {
        using var directory = new TemporaryDirectory("signer-reencrypt-missing");
        var database = directory.Combine("signer.db");
        TestPassphrases.Set("reencrypt_keep", "keep-passphrase");
        var store = new KeyStore(StorageProvider.Sqlite, $"Data Source={database};Pooling=False", "reencrypt_keep", new EnvironmentPassphraseSource());
        await store.MigrateAsync();
        var key = await store.CreateKeyAsync("docker.io/reencrypt", "timestamp", KeyType.Ecdsa);

        var (exitCode, _, error) = await RunAsync(["reencrypt", "alias_without_passphrase", .. Settings(database, "reencrypt_keep")]);
        Assert.Equal(1, exitCode);
        Assert.Contains("expected env variable to not be empty: alias_without_passphrase", error, StringComparison.Ordinal);
        var fresh = new KeyStore(StorageProvider.Sqlite, $"Data Source={database};Pooling=False", "reencrypt_keep", new EnvironmentPassphraseSource());
        Assert.NotNull(await fresh.GetKeyInfoAsync(key.KeyId));
    }

    [Fact]
    public async Task Reencrypt_WithoutAlias_PrintsUsage()
    {
        var (exitCode, _, error) = await RunAsync(["reencrypt"]);
        Assert.Equal(2, exitCode);
        Assert.Contains("usage:", error, StringComparison.Ordinal);
    }

    private static string[] Settings(string database, string alias) =>
        ["--Storage:Provider=Sqlite", $"--ConnectionStrings:Keys=Data Source={database};Pooling=False", $"--Keys:DefaultAlias={alias}", "--Logging:LogLevel:Default=Warning"];

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await SignerHost.RunAsync(args, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }
}
