using System.Formats.Tar;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using TrustServer.Data.Import;

namespace TrustServer.Server.Import;

/// <summary>
/// A bundle written by <c>export</c> (<see cref="RepositoryBundle"/>) as an import source. <see cref="OpenAsync"/>
/// reads the whole archive once without keeping it (hashing every entry) and refuses, before anything is written, a
/// bundle that is not complete gzip/tar, holds anything but regular files, an unsafe or unlisted entry name, an entry
/// over <see cref="RepositoryBundle.MaxEntryBytes"/>, a repository's entries apart, or a manifest that is missing,
/// of another format or whose digest does not match its entries. <see cref="ReadAsync"/> reads it again, one
/// repository at a time; a file whose bytes do not match the manifest, or a listed file that is missing, is a row
/// problem of its repository (which is then not written).
/// </summary>
public sealed class BundleSource(string file) : INotarySource
{
    private BundleManifest? _manifest;

    /// <inheritdoc />
    public string Description => $"bundle {file}";

    /// <inheritdoc />
    public async Task<SourceInventory> OpenAsync(string? gunPrefix, CancellationToken cancellationToken)
    {
        var present = new Dictionary<string, (string Sha256, long Size)>(StringComparer.Ordinal);
        var order = new List<string>();
        BundleManifest? manifest = null;
        await using var reader = new EntryReader(file, Refused);
        while (await reader.NextAsync(async (name, data) =>
        {
            if (name == RepositoryBundle.ManifestName)
            {
                manifest = await ParseAsync<BundleManifest>(name, data, cancellationToken).ConfigureAwait(false);
                return;
            }

            var (sha256, size) = await HashAsync(data, cancellationToken).ConfigureAwait(false);
            if (!present.TryAdd(name, (sha256, size)))
            {
                throw Refused($"entry '{Printable(name)}' occurs twice");
            }

            var segment = name.Split('/')[0];
            if (order.Count == 0 || order[^1] != segment)
            {
                if (order.Contains(segment, StringComparer.Ordinal))
                {
                    throw Refused($"the entries of '{Printable(Uri.UnescapeDataString(segment))}' are not consecutive");
                }

                order.Add(segment);
            }
        }, cancellationToken).ConfigureAwait(false))
        {
        }

        if (manifest is null)
        {
            throw Refused($"it has no {RepositoryBundle.ManifestName}");
        }

        if (manifest.Format != RepositoryBundle.Format)
        {
            throw Refused($"its format is {manifest.Format}; this version reads format {RepositoryBundle.Format}");
        }

        var entries = manifest.Entries ?? [];
        if (!string.Equals(RepositoryBundle.DigestOf(entries), manifest.Digest, StringComparison.Ordinal))
        {
            throw Refused("the manifest's digest does not match its entries");
        }

        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (entry.Gun is not { Length: > 0 and <= 255 } || entry.Gun.Any(char.IsControl) || entry.Path is null || entry.Sha256 is null
                || entry.Path != RepositoryBundle.PathOf(entry) || !listed.Add(entry.Path))
            {
                throw Refused($"the manifest entry '{Printable(entry.Path)}' has no valid GUN, does not name its file as the format does, or is listed twice");
            }
        }

        if (present.Keys.FirstOrDefault(name => !listed.Contains(name)) is { } unlisted)
        {
            throw Refused($"entry '{Printable(unlisted)}' is not in the manifest");
        }

        _manifest = manifest with { Entries = [.. entries.Where(e => gunPrefix is null || e.Gun.StartsWith(gunPrefix, StringComparison.Ordinal))] };
        var guns = _manifest.Entries.GroupBy(e => e.Gun, StringComparer.Ordinal)
            .OrderBy(g => order.IndexOf(Uri.EscapeDataString(g.Key)) is var i and >= 0 ? i : int.MaxValue)
            .Select(g => new SourceGun(g.Key, g.LongCount()))
            .ToList();
        return new SourceInventory(guns, manifest.HighestChangeId, [$"bundle exported at {manifest.ExportedAt:yyyy-MM-dd HH:mm:ss} UTC, digest sha256:{manifest.Digest}"]);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SourceRepository> ReadAsync(IReadOnlyList<SourceGun> guns, int batchRows, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var manifest = _manifest ?? throw new InvalidOperationException("OpenAsync first.");
        var wanted = guns.Select(g => g.Gun).ToHashSet(StringComparer.Ordinal);
        var byPath = manifest.Entries.Where(e => wanted.Contains(e.Gun)).ToDictionary(e => e.Path, StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);
        var current = (RepositoryParts?)null;
        var ready = new Queue<RepositoryParts>();

        // Entries are read in order; a repository is complete when the next one starts (its entries are consecutive).
        async Task OnEntryAsync(string name, Stream data)
        {
            if (!byPath.TryGetValue(name, out var entry))
            {
                return;
            }

            if (current?.Gun != entry.Gun)
            {
                if (current is not null)
                {
                    ready.Enqueue(current);
                }

                current = new RepositoryParts(entry.Gun);
            }

            done.Add(name);
            await current.AddAsync(entry, data, cancellationToken).ConfigureAwait(false);
        }

        // Reading is push-based; collect per repository and hand each out as soon as the next one begins.
        await using var reader = new EntryReader(file, Refused);
        while (await reader.NextAsync(OnEntryAsync, cancellationToken).ConfigureAwait(false))
        {
            while (ready.TryDequeue(out var parts))
            {
                yield return parts.ToRepository(byPath.Values, done);
            }
        }

        if (current is not null)
        {
            yield return current.ToRepository(byPath.Values, done);
        }

        // Repositories the manifest lists but the archive holds none of.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var gun in guns.Where(g => !byPath.Values.Any(e => e.Gun == g.Gun && done.Contains(e.Path))))
        {
            if (seen.Add(gun.Gun))
            {
                yield return new RepositoryParts(gun.Gun).ToRepository(byPath.Values, done);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    // Names from the archive in one-line messages: control characters shown as '?', at most 200 characters.
    private static string Printable(string? name) =>
        new([.. (name ?? string.Empty).Take(200).Select(c => char.IsControl(c) ? '?' : c)]);

    private ImportSourceException Refused(string why, Exception? inner = null) =>
        new($"{Description} is refused (nothing written): {why}", inner);

    private async Task<T> ParseAsync<T>(string name, Stream data, CancellationToken cancellationToken)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(data, RepositoryBundle.Json, cancellationToken).ConfigureAwait(false)
                ?? throw Refused($"{name} is null");
        }
        catch (JsonException ex)
        {
            throw Refused($"{name} is not valid JSON: {ex.Message}", ex);
        }
    }

    private static async Task<(string Sha256, long Size)> HashAsync(Stream data, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long size = 0;
        int read;
        while ((read = await data.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            size += read;
        }

        return (Convert.ToHexStringLower(hash.GetHashAndReset()), size);
    }

    /// <summary>Reads a bundle's entries in order, checking names, types and sizes; faults become <paramref name="refused"/>'s exception.</summary>
    private sealed class EntryReader(string path, Func<string, Exception?, ImportSourceException> refused) : IAsyncDisposable
    {
        private Stream? _file;
        private GZipStream? _gzip;
        private TarReader? _tar;

        public async Task<bool> NextAsync(Func<string, Stream, Task> onEntry, CancellationToken cancellationToken)
        {
            try
            {
                if (_tar is null)
                {
                    _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
                    _gzip = new GZipStream(_file, CompressionMode.Decompress);
                    _tar = new TarReader(_gzip);
                }

                var entry = await _tar.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false);
                if (entry is null)
                {
                    return false;
                }

                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                {
                    throw refused($"entry '{Printable(entry.Name)}' is a {entry.EntryType}, not a regular file", null);
                }

                if (!RepositoryBundle.IsSafeName(entry.Name))
                {
                    throw refused($"entry name '{Printable(entry.Name)}' is not a safe relative path", null);
                }

                if (entry.Length > RepositoryBundle.MaxEntryBytes)
                {
                    throw refused($"entry '{Printable(entry.Name)}' is {entry.Length} bytes, more than the limit of {RepositoryBundle.MaxEntryBytes}", null);
                }

                var data = entry.DataStream ?? Stream.Null;
                await onEntry(entry.Name, data).ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException or ArgumentException)
            {
                throw refused($"it is not a complete gzip-compressed tar archive (truncated or corrupt: {ImportCommand.OneLine(ex)})", ex);
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
            {
                throw refused($"it cannot be opened: {ex.Message}", ex);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_tar is not null)
            {
                await _tar.DisposeAsync().ConfigureAwait(false);
            }

            if (_gzip is not null)
            {
                await _gzip.DisposeAsync().ConfigureAwait(false);
            }

            if (_file is not null)
            {
                await _file.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The entries of one repository read so far.</summary>
    private sealed class RepositoryParts(string gun)
    {
        private readonly List<ImportedFile> _files = [];
        private readonly List<ImportedChange> _changes = [];
        private readonly List<RowProblem> _problems = [];
        private readonly Dictionary<(string, long), string> _rows = [];

        public string Gun => gun;

        public async Task AddAsync(BundleEntry entry, Stream data, CancellationToken cancellationToken)
        {
            using var buffer = new MemoryStream();
            await data.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            var bytes = buffer.ToArray();
            if (bytes.LongLength != entry.Size)
            {
                _problems.Add(new RowProblem(entry.Path, $"the manifest gives {entry.Size} bytes but the bundle holds {bytes.LongLength}"));
            }

            if (entry.Role is { } role && entry.Version is { } version)
            {
                // The importer's row checks compare the manifest's SHA-256 with the bytes.
                _files.Add(new ImportedFile(role, version, bytes, entry.Sha256, entry.CreatedAt ?? DateTimeOffset.UnixEpoch));
                _rows[(role, version)] = entry.Path;
                return;
            }

            var actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (actual != entry.Sha256)
            {
                _problems.Add(new RowProblem(entry.Path, $"the manifest gives sha256 {entry.Sha256} but the bytes hash to {actual}"));
                return;
            }

            try
            {
                var records = JsonSerializer.Deserialize<List<BundleChange>>(bytes, RepositoryBundle.Json) ?? [];
                _changes.AddRange(records.Select(r => new ImportedChange(r.Id, r.CreatedAt, r.Version, r.Sha256 ?? string.Empty, r.Category ?? string.Empty)));
            }
            catch (JsonException ex)
            {
                _problems.Add(new RowProblem(entry.Path, $"not a changefeed file: {ex.Message}"));
            }
        }

        public SourceRepository ToRepository(IEnumerable<BundleEntry> entries, HashSet<string> done)
        {
            foreach (var missing in entries.Where(e => e.Gun == gun && !done.Contains(e.Path)))
            {
                _problems.Add(new RowProblem(missing.Path, "the manifest lists this file but the bundle does not hold it"));
            }

            return new SourceRepository(gun, _files, _changes, _problems) { RowNames = _rows };
        }
    }
}
