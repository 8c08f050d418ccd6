using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using TrustServer.Data;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Tests.Support;
using TrustServer.Testing;
using TrustServer.Tuf.Keys;

namespace TrustServer.Signing.Tests.Keys;

/// <summary>The key store's SQLite file (the signer's <c>data/signer.db</c>, or the embedded server's database) holds the encrypted keys: owner-only.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class SqliteKeyFileTests : IDisposable
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly TemporaryDirectory _directory = new("sqlite-key-file");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Migrate_NewDatabase_FileIs0600AndDirectory0700()
    {
        var file = _directory.Combine("data", "signer.db");
        var store = new KeyStore(StorageProvider.Sqlite, $"Data Source={file}", KeyDatabase.Alias, KeyDatabase.DefaultPassphrases);
        await store.MigrateAsync();
        await store.CreateKeyAsync("docker.io/file/mode", "timestamp", KeyType.Ecdsa);

        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_directory.Combine("data")));
    }

    [Fact]
    public async Task Migrate_ExistingGroupReadableFile_IsLeftAloneWithAWarning()
    {
        var file = _directory.Combine("shared.db");
        await File.WriteAllBytesAsync(file, []);
        var readable = OwnerReadWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        File.SetUnixFileMode(file, readable);
        using var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(builder => builder.AddProvider(logs));
        var store = new KeyStore(
            StorageProvider.Sqlite, $"Data Source={file}", KeyDatabase.Alias, KeyDatabase.DefaultPassphrases, logger: loggers.CreateLogger<KeyStore>());

        await store.MigrateAsync();

        Assert.Equal(readable, File.GetUnixFileMode(file));
        Assert.Contains(logs.Lines, line => line.StartsWith("Warning", StringComparison.Ordinal) && line.Contains($"{file} has mode 644", StringComparison.Ordinal));
    }
}
