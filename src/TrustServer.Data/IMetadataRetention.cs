namespace TrustServer.Data;

/// <summary>How long one role's old versions are kept: null for a limit that is not set.</summary>
/// <param name="KeepVersions">The newest this many versions are kept.</param>
/// <param name="KeepFor">Versions stored less than this long ago are kept.</param>
public sealed record RoleRetention(int? KeepVersions, TimeSpan? KeepFor)
{
    /// <summary>Whether any limit is set (a rule with none removes nothing).</summary>
    public bool Prunes => KeepVersions is not null || KeepFor is not null;
}

/// <summary>
/// The retention rule of every role: <paramref name="Roles"/> by exact role name, else <paramref name="Default"/>.
/// Root is never pruned whatever the rule says.
/// </summary>
public sealed record RetentionPolicy(RoleRetention? Default, IReadOnlyDictionary<string, RoleRetention> Roles)
{
    /// <summary>The rule for <paramref name="role"/>; null when its versions are kept forever.</summary>
    public RoleRetention? For(string role)
    {
        var rule = Roles.TryGetValue(role, out var own) ? own : Default;
        return rule is { Prunes: true } ? rule : null;
    }

    /// <summary>Whether the policy can remove anything at all.</summary>
    public bool Prunes => Default is { Prunes: true } || Roles.Values.Any(r => r.Prunes);
}

/// <summary>One stored version retention removes (or would remove).</summary>
public sealed record PrunedVersion(string Role, long Version, DateTimeOffset CreatedAt, int Bytes);

/// <summary>
/// What one pruning transaction of a repository removed, or (dry run) would remove. <see cref="More"/>: more
/// versions are due than one batch removed. <see cref="Refused"/>: the current chain could not be read (nothing removed).
/// </summary>
public sealed record RetentionResult(string Gun, IReadOnlyList<PrunedVersion> Removed, bool More, bool DryRun, string? Refused);

/// <summary>
/// Removes old metadata versions of a repository under the per-GUN write lock, in one transaction with its audit
/// entry. Never removes: a root version, the newest version of any role, the current timestamp, the snapshot it
/// names, any file that snapshot or the newest snapshot names (by role and checksum). Changefeed rows are never touched.
/// </summary>
public interface IMetadataRetention
{
    /// <summary>
    /// Removes (or with <paramref name="dryRun"/> lists) the versions of <paramref name="gun"/> the policy lets go as
    /// of <paramref name="now"/>: a version goes when it is beyond the role's KeepVersions newest AND stored longer
    /// than its KeepFor ago (a limit not set does not hold anything back). At most <paramref name="batchSize"/>
    /// versions per call (a dry run lists them all).
    /// </summary>
    Task<RetentionResult> PruneAsync(string gun, RetentionPolicy policy, DateTimeOffset now, int batchSize, bool dryRun, CancellationToken cancellationToken = default);
}
