using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using TrustServer.Data;

namespace TrustServer.Server.Import;

/// <summary>What an export wrote.</summary>
public sealed record ExportResult(int Repositories, int Files, int Changes, string Digest);

/// <summary>
/// Writes the repositories of this server's store whose GUN starts with a prefix into a bundle
/// (<see cref="RepositoryBundle"/>): one file at a time (memory bounded by the largest file and a repository's
/// changefeed), repositories in the database's order of GUNs, roles in ordinal order, versions ascending.
/// </summary>
public sealed class BundleExporter(IMetadataCatalog catalog, IMetadataStore store, TimeProvider timeProvider)
{
    private const int Page = 500;

    /// <summary>Writes the bundle to <paramref name="output"/> (left open).</summary>
    public async Task<ExportResult> ExportAsync(string? gunPrefix, Stream output, CancellationToken cancellationToken)
    {
        var entries = new List<BundleEntry>();
        var repositories = 0;
        var changes = 0;
        var highestChangeId = 0L;
        await using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        await using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            await foreach (var gun in GunsAsync(gunPrefix, cancellationToken).ConfigureAwait(false))
            {
                repositories++;
                foreach (var role in (await catalog.GetRolesAsync(gun, cancellationToken).ConfigureAwait(false)).Order(StringComparer.Ordinal))
                {
                    foreach (var version in await VersionsAsync(gun, role, cancellationToken).ConfigureAwait(false))
                    {
                        // Null only when the repository was deleted meanwhile: its changefeed below says so.
                        if (await store.GetByVersionAsync(gun, role, version, cancellationToken).ConfigureAwait(false) is { } file)
                        {
                            var entry = new BundleEntry(RepositoryBundle.FilePath(gun, role, version), gun, role, version, file.Sha256, file.Data.LongLength, file.CreatedAt);
                            await WriteAsync(tar, entry.Path, file.Data, file.CreatedAt, cancellationToken).ConfigureAwait(false);
                            entries.Add(entry);
                        }
                    }
                }

                var records = await ChangesAsync(gun, cancellationToken).ConfigureAwait(false);
                changes += records.Count;
                highestChangeId = Math.Max(highestChangeId, records.Select(r => r.Id).DefaultIfEmpty().Max());
                var bytes = JsonSerializer.SerializeToUtf8Bytes(records, RepositoryBundle.Json);
                var path = RepositoryBundle.ChangefeedPath(gun);
                await WriteAsync(tar, path, bytes, timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
                entries.Add(new BundleEntry(path, gun, null, null, Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes.LongLength, null));
            }

            var digest = RepositoryBundle.DigestOf(entries);
            var manifest = new BundleManifest(RepositoryBundle.Format, timeProvider.GetUtcNow(), gunPrefix, highestChangeId, digest, entries);
            await WriteAsync(tar, RepositoryBundle.ManifestName, JsonSerializer.SerializeToUtf8Bytes(manifest, RepositoryBundle.Json), manifest.ExportedAt, cancellationToken).ConfigureAwait(false);
            return new ExportResult(repositories, entries.Count - repositories, changes, digest);
        }
    }

    private static async Task WriteAsync(TarWriter tar, string path, byte[] data, DateTimeOffset modified, CancellationToken cancellationToken)
    {
        using var content = new MemoryStream(data, writable: false);
        var entry = new PaxTarEntry(TarEntryType.RegularFile, path)
        {
            DataStream = content,
            ModificationTime = modified,
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
        };
        await tar.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
    }

    // Keyset pages over every repository holding a timestamp, in the GUN column's collation order (not necessarily
    // ordinal on PostgreSQL, so every page is read and filtered here).
    private async IAsyncEnumerable<string> GunsAsync(string? prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? after = null;
        while (true)
        {
            var page = await catalog.ListGunsWithTimestampAsync(after, Page, cancellationToken).ConfigureAwait(false);
            foreach (var gun in page)
            {
                if (prefix is null || gun.StartsWith(prefix, StringComparison.Ordinal))
                {
                    yield return gun;
                }
            }

            if (page.Count < Page)
            {
                yield break;
            }

            after = page[^1];
        }
    }

    private async Task<List<long>> VersionsAsync(string gun, string role, CancellationToken cancellationToken)
    {
        var versions = new List<long>();
        for (var skip = 0; ; skip += Page)
        {
            var page = await catalog.GetRoleHistoryAsync(gun, role, skip, Page, cancellationToken).ConfigureAwait(false);
            versions.AddRange(page.Items.Select(v => v.Version));
            if (page.Items.Count < Page)
            {
                break;
            }
        }

        versions.Sort();
        return [.. versions.Distinct()];
    }

    private async Task<List<BundleChange>> ChangesAsync(string gun, CancellationToken cancellationToken)
    {
        var records = new List<BundleChange>();
        for (var cursor = 0L; ;)
        {
            var page = await store.GetChangesAsync(gun, cursor, 1000, cancellationToken).ConfigureAwait(false);
            records.AddRange(page.Select(c => new BundleChange(c.Id, c.CreatedAt, c.Version, c.Sha256, c.Category)));
            if (page.Count < 1000)
            {
                return records;
            }

            cursor = page[^1].Id;
        }
    }
}
