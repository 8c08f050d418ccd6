namespace TrustServer.Data.Import;

/// <summary>
/// One <c>tuf_files</c> row of another Notary store, as it is to be stored: the exact bytes, the lowercase hex SHA-256
/// the source recorded for them (checked against the bytes before anything is written), the version and the time
/// the source stored it (UTC).
/// </summary>
public sealed record ImportedFile(string Role, long Version, byte[] Data, string Sha256, DateTimeOffset CreatedAt);

/// <summary>
/// One changefeed record of another Notary store with its original id (followers' cursors are ids), of the GUN it
/// is imported with. <see cref="Sha256"/> is empty for a deletion.
/// </summary>
public sealed record ImportedChange(long Id, DateTimeOffset CreatedAt, long Version, string Sha256, string Category);

/// <summary>Why a GUN was not written.</summary>
public enum ImportConflictKind
{
    /// <summary>The destination holds the same (role, version) with other bytes.</summary>
    FileDiffers,

    /// <summary>The destination uses the changefeed id for another record.</summary>
    ChangeIdTaken,

    /// <summary>A row's recorded SHA-256 is not the SHA-256 of its bytes.</summary>
    HashMismatch,

    /// <summary>Two rows of the import share a (role, version) or a changefeed id.</summary>
    Duplicate,
}

/// <summary>One reason a GUN was not written; <see cref="Detail"/> names the row.</summary>
public sealed record ImportConflict(ImportConflictKind Kind, string Detail);

/// <summary>
/// What <see cref="IMetadataImportWriter.ImportAsync"/> did (or, in a dry run, would do) for one GUN. When
/// <see cref="Conflicts"/> is not empty nothing was written.
/// </summary>
/// <param name="Gun">The repository.</param>
/// <param name="FilesAdded">Files inserted.</param>
/// <param name="FilesSkipped">Files already stored with the same bytes.</param>
/// <param name="FilesRemoved">Files removed because the source deleted the repository after they were imported.</param>
/// <param name="ChangesAdded">Changefeed records inserted with their original ids.</param>
/// <param name="ChangesSkipped">Changefeed records already stored under their id.</param>
/// <param name="Conflicts">Why the GUN was not written (empty on success).</param>
/// <param name="DryRun">Whether the transaction was rolled back on purpose.</param>
public sealed record GunImportResult(
    string Gun, int FilesAdded, int FilesSkipped, int FilesRemoved, int ChangesAdded, int ChangesSkipped, IReadOnlyList<ImportConflict> Conflicts, bool DryRun)
{
    /// <summary>Whether the GUN's rows are in the destination (or would be, in a dry run).</summary>
    public bool Succeeded => Conflicts.Count == 0;

    /// <summary>Whether anything was (or would be) written.</summary>
    public bool Changed => Succeeded && (FilesAdded + FilesRemoved + ChangesAdded) > 0;
}

/// <summary>
/// Writes another Notary store's rows into this store (the <c>import</c> commands). Each GUN is written in one
/// transaction under the same per-GUN lock as publishes (so it can run against a live server; replicas' read caches
/// drop the GUN at commit), all or nothing:
/// <list type="bullet">
/// <item>files: bytes verbatim; a (role, version) already stored with the same SHA-256 is skipped, with another one
/// is a conflict;</item>
/// <item>changefeed records: inserted with their original ids; an id already stored for the same (gun, version,
/// sha256, category) is skipped, for anything else is a conflict;</item>
/// <item>when the import brings a <c>deletion</c> record the destination did not have yet (the source deleted the
/// repository since an earlier run), the destination's files of the GUN that the source no longer has are removed
/// first, as the source's delete removed them.</item>
/// </list>
/// Any conflict leaves the GUN as it was. Re-running with the same rows changes nothing; with more rows (late writes
/// to the source) adds exactly those.
/// </summary>
public interface IMetadataImportWriter
{
    /// <summary>Imports the rows of one GUN (see the interface). <paramref name="dryRun"/> rolls back at the end.</summary>
    Task<GunImportResult> ImportAsync(
        string gun, IReadOnlyList<ImportedFile> files, IReadOnlyList<ImportedChange> changes, bool dryRun, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves the changefeed's id generator (PostgreSQL identity sequence, SQLite <c>sqlite_sequence</c>) to at least
    /// <paramref name="highestSourceId"/> + <paramref name="headroom"/>, never backwards, so that records this server
    /// writes from now on get ids above every imported one (and above <paramref name="headroom"/> − 1 late writes of
    /// the source). Call before importing, with the source's highest id.
    /// </summary>
    Task ReserveChangeIdsAsync(long highestSourceId, long headroom, CancellationToken cancellationToken = default);
}
