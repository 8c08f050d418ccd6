using TrustServer.Data.Import;

namespace TrustServer.Server.Import;

/// <summary>A repository a source holds and how many rows (files and changefeed records) it has there.</summary>
public sealed record SourceGun(string Gun, long Rows);

/// <summary>What a source holds, read once before importing: its repositories and the highest changefeed id.</summary>
public sealed record SourceInventory(IReadOnlyList<SourceGun> Guns, long HighestChangeId, IReadOnlyList<string> Notes)
{
    /// <summary>Rows of all listed repositories.</summary>
    public long TotalRows => Guns.Sum(g => g.Rows);
}

/// <summary>A row a source could not give as it should be (the GUN is not written); <see cref="Row"/> names it in the source.</summary>
public sealed record RowProblem(string Row, string Message);

/// <summary>
/// One repository as the source holds it: every file (any version, bytes verbatim) and its changefeed records with
/// their original ids, plus the rows that were unusable.
/// </summary>
public sealed record SourceRepository(string Gun, IReadOnlyList<ImportedFile> Files, IReadOnlyList<ImportedChange> Changes, IReadOnlyList<RowProblem> Problems)
{
    /// <summary>How the source names each file's row in reports (e.g. <c>tuf_files id 17</c>), by (role, version); optional.</summary>
    public IReadOnlyDictionary<(string Role, long Version), string>? RowNames { get; init; }
}

/// <summary>
/// Where an import reads Notary data: a notary-server database (<see cref="NotaryDatabaseSource"/>) or a live server
/// through its API (<c>import notary-server</c>). <see cref="NotaryImporter"/> checks and writes what it yields.
/// </summary>
public interface INotarySource : IAsyncDisposable
{
    /// <summary>Names the source for reports and errors, never with a password.</summary>
    string Description { get; }

    /// <summary>
    /// Connects, checks that the source is a Notary store (else <see cref="ImportSourceException"/> naming what is
    /// missing) and lists its repositories whose GUN starts with <paramref name="gunPrefix"/> (all when null).
    /// </summary>
    Task<SourceInventory> OpenAsync(string? gunPrefix, CancellationToken cancellationToken);

    /// <summary>
    /// The rows of <paramref name="guns"/>, one repository at a time, in the order given. A source may read several
    /// repositories per round trip, up to about <paramref name="batchRows"/> rows.
    /// </summary>
    IAsyncEnumerable<SourceRepository> ReadAsync(IReadOnlyList<SourceGun> guns, int batchRows, CancellationToken cancellationToken);
}

/// <summary>The source cannot be read at all (unreachable, not a Notary store); the message is safe to print.</summary>
public sealed class ImportSourceException(string message, Exception? inner = null) : Exception(message, inner);
