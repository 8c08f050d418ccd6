using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace TrustServer.Data;

/// <summary>
/// Creation of SQLite database files for the metadata store and the key store (which may share one file): owner-only,
/// like the embedded passphrase file, since the file holds the encrypted private keys and the repositories' metadata.
/// </summary>
public static partial class SqliteDatabaseFile
{
    private const UnixFileMode GroupOrOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// For a connection string naming a database file (not <c>:memory:</c>, not a <c>file:</c> URI): creates its
    /// directory (mode 0700 on Unix) and the file itself, empty, with mode 0600, when they do not exist yet, so that
    /// SQLite opens a file that never had the umask's mode (its <c>-wal</c>, <c>-shm</c> and <c>-journal</c> files
    /// take the database file's mode). Existing directories and files are not changed (their owner may have chosen
    /// the mode, e.g. for a backup group); an existing file that group or others may access is logged as a warning.
    /// </summary>
    /// <param name="connectionString">An SQLite connection string.</param>
    /// <param name="logger">Where the warning goes.</param>
    public static void EnsureCreated(string connectionString, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.Mode == SqliteOpenMode.Memory
            || string.IsNullOrEmpty(builder.DataSource)
            || string.Equals(builder.DataSource, ":memory:", StringComparison.OrdinalIgnoreCase)
            || builder.DataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var path = Path.GetFullPath(builder.DataSource);
        var directory = Path.GetDirectoryName(path);
        if (OperatingSystem.IsWindows())
        {
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            return;
        }

        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        if (File.Exists(path))
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & GroupOrOthers) != 0)
            {
                LogAccessibleFile(logger, path, Convert.ToString((int)mode, 8));
            }

            return;
        }

        try
        {
            // An empty file is an empty database to SQLite.
            using var created = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        catch (IOException) when (File.Exists(path))
        {
            // Created at the same moment by another process (or the other store on the same file): its mode stands.
        }
    }

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "SQLite database {Path} has mode {Mode}: group or others may access it; chmod 600 it unless that is intended")]
    private static partial void LogAccessibleFile(ILogger logger, string path, string mode);
}
