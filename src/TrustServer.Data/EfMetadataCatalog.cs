using Microsoft.EntityFrameworkCore;
using TrustServer.Data.Model;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Data;

/// <summary><see cref="IMetadataCatalog"/> on EF Core; every query uses the (gun, role, version) index or scans ids only.</summary>
internal sealed class EfMetadataCatalog(IMetadataDbContextFactory contexts) : IMetadataCatalog
{
    public async Task<Page<RepositorySummary>> ListRepositoriesAsync(string? prefix, int skip, int take, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        var files = db.TufFiles.AsNoTracking();
        if (!string.IsNullOrEmpty(prefix))
        {
            files = files.Where(f => f.Gun.StartsWith(prefix));
        }

        // Ids grow with every insert, so the highest id of a repository marks its last update on both providers.
        var groups = files.GroupBy(f => f.Gun).Select(g => new { Gun = g.Key, LastId = g.Max(f => f.Id), Count = g.LongCount() });
        var total = await groups.LongCountAsync(cancellationToken).ConfigureAwait(false);
        var page = await groups.OrderByDescending(g => g.LastId).Skip(skip).Take(take).ToListAsync(cancellationToken).ConfigureAwait(false);
        var ids = page.Select(g => g.LastId).ToList();
        var times = await db.TufFiles.AsNoTracking().Where(f => ids.Contains(f.Id))
            .Select(f => new { f.Id, f.CreatedAt }).ToDictionaryAsync(f => f.Id, f => f.CreatedAt, cancellationToken).ConfigureAwait(false);
        return new Page<RepositorySummary>([.. page.Select(g => new RepositorySummary(g.Gun, times[g.LastId], g.Count))], total);
    }

    public async Task<Page<RoleVersion>> GetRoleHistoryAsync(string gun, string role, int skip, int take, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        var versions = db.TufFiles.AsNoTracking().Where(f => f.Gun == gun && f.Role == role);
        var total = await versions.LongCountAsync(cancellationToken).ConfigureAwait(false);
        var page = await versions.OrderByDescending(f => f.Version).Skip(skip).Take(take)
            .Select(f => new RoleVersion(f.Role, f.Version, f.Sha256, f.Data.Length, f.CreatedAt))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return new Page<RoleVersion>(page, total);
    }

    public async Task<IReadOnlyList<string>> GetRolesAsync(string gun, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        return await db.TufFiles.AsNoTracking().Where(f => f.Gun == gun).Select(f => f.Role).Distinct().OrderBy(r => r)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> ListGunsWithTimestampAsync(string? after, int take, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        var files = db.TufFiles.AsNoTracking().Where(f => f.Role == RoleName.Timestamp);
        if (after is not null)
        {
            // gun > @after in the column's collation, the same order as ORDER BY: pages neither overlap nor skip.
            files = files.Where(f => string.Compare(f.Gun, after) > 0);
        }

        return await files.Select(f => f.Gun).Distinct().OrderBy(g => g).Take(take).ToListAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<RepositoryHead>> ListRepositoryHeadsAsync(string? after, int take, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(take);
        await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        return ToHeads(await db.ReadHeadsPageAsync(after, take, cancellationToken).ConfigureAwait(false));
    }

    public async Task<IReadOnlyList<RepositoryHead>> GetRepositoryHeadsAsync(IReadOnlyCollection<string> guns, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(guns);
        if (guns.Count == 0)
        {
            return [];
        }

        await using var db = await contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        return ToHeads(await db.ReadHeadsAsync(guns, cancellationToken).ConfigureAwait(false));
    }

    // Rows ordered by GUN (a timestamp and at most one snapshot each) → one head per GUN that has a timestamp, in that order.
    private static List<RepositoryHead> ToHeads(List<TufFileEntity> rows)
    {
        var heads = new List<RepositoryHead>(rows.Count / 2 + 1);
        for (var i = 0; i < rows.Count;)
        {
            var gun = rows[i].Gun;
            StoredFile? timestamp = null;
            StoredFile? snapshot = null;
            for (; i < rows.Count && rows[i].Gun == gun; i++)
            {
                var row = rows[i];
                var file = new StoredFile(row.Role, row.Version, row.Data, row.Sha256, row.CreatedAt);
                if (row.Role == RoleName.Timestamp)
                {
                    timestamp = file;
                }
                else
                {
                    snapshot = file;
                }
            }

            if (timestamp is not null)
            {
                heads.Add(new RepositoryHead(gun, timestamp, snapshot));
            }
        }

        return heads;
    }
}
