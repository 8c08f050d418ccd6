using System.Runtime.Versioning;
using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>
/// The embedded default's database (metadata and, in their own tables, the encrypted signing keys) is created
/// owner-only, like the passphrase file beside it; SQLite gives its WAL files the database file's mode.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class SqliteFileModeTests : IDisposable
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly TemporaryDirectory _directory = new("sqlite-file-mode");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task FreshDataDirectory_DatabaseAndWalFilesAre0600_Directory0700()
    {
        var database = _directory.Combine("data", "trustserver.db");
        await using var server = await TrustServerInstance.StartAsync(new ServerStorage.Sqlite(database));

        // Stores a key through the embedded key store (same file).
        using var response = await server.Http.GetAsync("/v2/example.com/file/mode/_trust/tuf/timestamp.key");
        response.EnsureSuccessStatusCode();

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_directory.Combine("data")));
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(database));
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(database + "-wal"));
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(database + "-shm"));
    }
}
