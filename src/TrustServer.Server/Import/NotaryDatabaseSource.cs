using System.Data.Common;
using System.Runtime.CompilerServices;
using MySqlConnector;
using Npgsql;
using TrustServer.Data.Import;

namespace TrustServer.Server.Import;

/// <summary>The database engines notary-server and notary-signer support.</summary>
public enum NotaryDatabaseProvider
{
    /// <summary>PostgreSQL (Npgsql).</summary>
    Postgres,

    /// <summary>MySQL or MariaDB (MySqlConnector).</summary>
    MySql,
}

/// <summary>Opens connections to a notary database and names it without its password.</summary>
public sealed class NotaryDatabase
{
    private readonly DbDataSource _dataSource;

    /// <summary>Parses <paramref name="connectionString"/> for <paramref name="provider"/>; <see cref="ArgumentException"/> when it is malformed.</summary>
    public NotaryDatabase(NotaryDatabaseProvider provider, string connectionString)
    {
        Provider = provider;
        switch (provider)
        {
            case NotaryDatabaseProvider.Postgres:
                var postgres = new NpgsqlConnectionStringBuilder(connectionString);
                Description = $"PostgreSQL {postgres.Host}:{postgres.Port}/{postgres.Database}";
                _dataSource = NpgsqlDataSource.Create(postgres);
                break;
            case NotaryDatabaseProvider.MySql:
                var mysql = new MySqlConnectionStringBuilder(connectionString);

                // Timestamps come back as the wall-clock text notary wrote (no zone conversion); AllowZeroDateTime
                // keeps MySQL's zero dates readable.
                mysql.AllowZeroDateTime = true;
                Description = $"MySQL {mysql.Server}:{mysql.Port}/{mysql.Database}";
                _dataSource = new MySqlDataSource(mysql.ConnectionString);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown provider.");
        }
    }

    /// <summary>The engine.</summary>
    public NotaryDatabaseProvider Provider { get; }

    /// <summary>Engine, host, port and database; never user or password.</summary>
    public string Description { get; }

    /// <summary>The SQL expression of the current schema (where notary's tables are).</summary>
    public string CurrentSchemaSql => Provider == NotaryDatabaseProvider.Postgres ? "current_schema()" : "DATABASE()";

    /// <summary>Opens a connection; <see cref="ImportSourceException"/> when the database cannot be reached.</summary>
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DbException or System.Net.Sockets.SocketException or TimeoutException or InvalidOperationException)
        {
            throw new ImportSourceException($"cannot connect to {Description}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Checks that the current schema has <paramref name="table"/> with every one of <paramref name="columns"/>;
    /// <see cref="ImportSourceException"/> naming what is missing otherwise.
    /// </summary>
    public async Task RequireTableAsync(DbConnection connection, string table, string product, IReadOnlyList<string> columns, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT column_name FROM information_schema.columns WHERE table_schema = {CurrentSchemaSql} AND table_name = @table";
        AddParameter(command, "@table", table);
        var present = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                present.Add(reader.GetString(0));
            }
        }

        if (present.Count == 0)
        {
            throw new ImportSourceException($"{Description} is not a {product} database: it has no table {table}");
        }

        var missing = columns.Where(c => !present.Contains(c)).ToList();
        if (missing.Count > 0)
        {
            throw new ImportSourceException($"{Description} is not a {product} database: table {table} has no column {string.Join(", ", missing)}");
        }
    }

    /// <summary>Adds a named parameter.</summary>
    public static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    /// <summary>A timestamp column: notary writes wall-clock time without zone, read as UTC (run notary in UTC); null stays null.</summary>
    public static DateTimeOffset? ReadUtc(DbDataReader reader, int ordinal)
    {
        if (reader.IsDBNull(ordinal))
        {
            return null;
        }

        var value = reader.GetValue(ordinal) switch
        {
            DateTime dateTime => dateTime,
            DateTimeOffset offset => offset.UtcDateTime,
            MySqlDateTime { IsValidDateTime: true } mysql => mysql.GetDateTime(),
            _ => (DateTime?)null,
        };
        return value is null ? null : new DateTimeOffset(DateTime.SpecifyKind(value.Value.Kind == DateTimeKind.Local ? value.Value.ToUniversalTime() : value.Value, DateTimeKind.Utc));
    }
}

/// <summary>
/// A notary-server database (PostgreSQL, or MySQL/MariaDB) as an import source: <c>tuf_files</c> and the global
/// <c>changefeed</c> (spec validation.md §10.1). Rows are read as they are: bytes verbatim, the recorded
/// <c>sha256</c> (checked by the importer), timestamps as UTC. Rows with <c>deleted_at</c> set (never served by
/// notary-server) are left out and counted in the inventory's notes. Read-only: it never writes to the source.
/// </summary>
public sealed class NotaryDatabaseSource(NotaryDatabase database) : INotarySource
{
    private static readonly string[] FileColumns = ["id", "created_at", "updated_at", "deleted_at", "gun", "role", "version", "data", "sha256"];
    private static readonly string[] ChangeColumns = ["id", "created_at", "gun", "version", "sha256", "category"];

    private DbConnection? _connection;

    /// <inheritdoc />
    public string Description => database.Description;

    /// <inheritdoc />
    public async Task<SourceInventory> OpenAsync(string? gunPrefix, CancellationToken cancellationToken)
    {
        _connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await database.RequireTableAsync(_connection, "tuf_files", "notary-server", FileColumns, cancellationToken).ConfigureAwait(false);
            await database.RequireTableAsync(_connection, "changefeed", "notary-server", ChangeColumns, cancellationToken).ConfigureAwait(false);

            var rows = new Dictionary<string, long>(StringComparer.Ordinal);
            await ReadRowsAsync("SELECT gun, COUNT(*) FROM tuf_files WHERE deleted_at IS NULL GROUP BY gun", r => rows[r.GetString(0)] = r.GetInt64(1), cancellationToken).ConfigureAwait(false);
            await ReadRowsAsync("SELECT gun, COUNT(*) FROM changefeed GROUP BY gun", r => rows[r.GetString(0)] = rows.GetValueOrDefault(r.GetString(0)) + r.GetInt64(1), cancellationToken).ConfigureAwait(false);
            long highest = 0, softDeleted = 0;
            await ReadRowsAsync("SELECT COALESCE(MAX(id), 0) FROM changefeed", r => highest = Convert.ToInt64(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
            await ReadRowsAsync("SELECT COUNT(*) FROM tuf_files WHERE deleted_at IS NOT NULL", r => softDeleted = r.GetInt64(0), cancellationToken).ConfigureAwait(false);

            var guns = rows.Where(r => gunPrefix is null || r.Key.StartsWith(gunPrefix, StringComparison.Ordinal))
                .OrderBy(r => r.Key, StringComparer.Ordinal)
                .Select(r => new SourceGun(r.Key, r.Value))
                .ToList();
            List<string> notes = softDeleted > 0 ? [$"{softDeleted} tuf_files rows with deleted_at set are not imported (notary-server never serves them)"] : [];
            return new SourceInventory(guns, highest, notes);
        }
        catch (DbException ex)
        {
            throw new ImportSourceException($"cannot read {Description}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SourceRepository> ReadAsync(IReadOnlyList<SourceGun> guns, int batchRows, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var connection = _connection ?? throw new InvalidOperationException("OpenAsync first.");
        for (var start = 0; start < guns.Count;)
        {
            // Consecutive repositories up to batchRows rows (at least one repository, at most 1000 per query).
            var end = start + 1;
            var rows = guns[start].Rows;
            while (end < guns.Count && end - start < 1000 && rows + guns[end].Rows <= batchRows)
            {
                rows += guns[end].Rows;
                end++;
            }

            var batch = guns.Skip(start).Take(end - start).Select(g => g.Gun).ToList();
            var repositories = await ReadBatchAsync(connection, batch, cancellationToken).ConfigureAwait(false);
            foreach (var gun in batch)
            {
                yield return repositories[gun].ToRepository(gun);
            }

            start = end;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<Dictionary<string, RepositoryRows>> ReadBatchAsync(DbConnection connection, List<string> guns, CancellationToken cancellationToken)
    {
        var result = guns.ToDictionary(g => g, _ => new RepositoryRows(), StringComparer.Ordinal);
        var inList = string.Join(", ", guns.Select((_, i) => $"@g{i}"));
        await ReadRowsAsync(
            $"SELECT id, gun, role, version, data, sha256, created_at, updated_at FROM tuf_files WHERE deleted_at IS NULL AND gun IN ({inList}) ORDER BY id",
            r =>
            {
                // A case-insensitive MySQL collation may return other GUNs' rows: keep the exact ones only.
                if (!result.TryGetValue(r.GetString(1), out var repository))
                {
                    return;
                }

                var id = r.GetInt64(0);
                var role = r.GetString(2);
                var version = r.GetInt64(3);
                var sha256 = r.IsDBNull(5) ? string.Empty : r.GetString(5).TrimEnd(' ');
                var created = NotaryDatabase.ReadUtc(r, 6) ?? NotaryDatabase.ReadUtc(r, 7) ?? DateTimeOffset.UnixEpoch;
                if (r.IsDBNull(4))
                {
                    repository.Problems.Add(new RowProblem($"tuf_files id {id} ({role} version {version})", "data is NULL"));
                    return;
                }

                repository.Files.Add(new ImportedFile(role, version, (byte[])r.GetValue(4), sha256, created));
                repository.FileRowIds[(role, version)] = id;
            },
            cancellationToken,
            guns).ConfigureAwait(false);
        await ReadRowsAsync(
            $"SELECT id, gun, version, sha256, category, created_at FROM changefeed WHERE gun IN ({inList}) ORDER BY id",
            r =>
            {
                if (result.TryGetValue(r.GetString(1), out var repository))
                {
                    repository.Changes.Add(new ImportedChange(
                        r.GetInt64(0),
                        NotaryDatabase.ReadUtc(r, 5) ?? DateTimeOffset.UnixEpoch,
                        r.GetInt64(2),
                        r.IsDBNull(3) ? string.Empty : r.GetString(3).TrimEnd(' '),
                        r.GetString(4)));
                }
            },
            cancellationToken,
            guns).ConfigureAwait(false);
        return result;
    }

    private async Task ReadRowsAsync(string sql, Action<DbDataReader> row, CancellationToken cancellationToken, IReadOnlyList<string>? guns = null)
    {
        var connection = _connection ?? throw new InvalidOperationException("OpenAsync first.");
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = 0;
        for (var i = 0; i < (guns?.Count ?? 0); i++)
        {
            NotaryDatabase.AddParameter(command, $"@g{i}", guns![i]);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            row(reader);
        }
    }

    private sealed class RepositoryRows
    {
        public List<ImportedFile> Files { get; } = [];

        public List<ImportedChange> Changes { get; } = [];

        public List<RowProblem> Problems { get; } = [];

        public Dictionary<(string, long), long> FileRowIds { get; } = [];

        public SourceRepository ToRepository(string gun)
        {
            // Name rows by their source id in the importer's row checks.
            var problems = new List<RowProblem>(Problems);
            return new SourceRepository(gun, Files, Changes, problems) { RowNames = FileRowIds.ToDictionary(e => e.Key, e => $"tuf_files id {e.Value}") };
        }
    }
}
