namespace TrustServer.Data.Model;

/// <summary>
/// A row of <c>tuf_files</c> (spec validation.md §10.1, with 64-bit versions and UTC timestamps). Rows are
/// inserted and, on repository deletion, hard-deleted; never updated.
/// </summary>
internal sealed class TufFileEntity
{
    /// <summary>Identity primary key.</summary>
    public long Id { get; set; }

    /// <summary>Insertion time, UTC, microsecond precision.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The repository (GUN), at most 255 characters.</summary>
    public required string Gun { get; set; }

    /// <summary>The role name, at most 255 characters.</summary>
    public required string Role { get; set; }

    /// <summary>The metadata version; strictly increasing per (gun, role), gaps allowed.</summary>
    public long Version { get; set; }

    /// <summary>The exact bytes the client uploaded (or the server signed).</summary>
    public required byte[] Data { get; set; }

    /// <summary>Lowercase hex SHA-256 of <see cref="Data"/>.</summary>
    public required string Sha256 { get; set; }
}
