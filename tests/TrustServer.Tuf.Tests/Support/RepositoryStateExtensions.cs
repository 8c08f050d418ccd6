using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Tests.Support;

/// <summary>
/// Builds stored states a test cannot reach through accepted updates alone (hand-made stored files, high stored
/// versions) and validates against them with a repository's validator, keys and clock.
/// </summary>
internal static class RepositoryStateExtensions
{
    /// <summary>A copy of the state whose current file for <paramref name="role"/> is <paramref name="bytes"/>; the
    /// highest version becomes at least <paramref name="version"/> (read from the file when not given).</summary>
    public static RepositoryState With(this RepositoryState state, string role, byte[] bytes, long? version = null)
    {
        var current = new Dictionary<string, byte[]>(state.CurrentFiles, StringComparer.Ordinal) { [role] = bytes };
        var highest = new Dictionary<string, long>(state.HighestVersions, StringComparer.Ordinal);
        var fileVersion = version ?? SignedEnvelope.Parse(bytes).Version;
        highest[role] = Math.Max(highest.GetValueOrDefault(role), fileVersion);
        return new RepositoryState(current, highest);
    }

    /// <summary>A copy of the state in which some (possibly non-current) stored version of the role is <paramref name="version"/>.</summary>
    public static RepositoryState WithHighest(this RepositoryState state, string role, long version)
    {
        var highest = new Dictionary<string, long>(state.HighestVersions, StringComparer.Ordinal);
        highest[role] = Math.Max(highest.GetValueOrDefault(role), version);
        return new RepositoryState(new Dictionary<string, byte[]>(state.CurrentFiles, StringComparer.Ordinal), highest);
    }

    /// <summary>The state after storing the files of an accepted update.</summary>
    public static RepositoryState Apply(this RepositoryState state, UpdateResult result)
    {
        Assert.True(result.IsAccepted, result.Error?.Message);
        foreach (var file in result.Files)
        {
            state = state.With(file.Role, file.Data, file.Version);
        }

        return state;
    }

    /// <summary>Validates uploads against an explicit state (nothing is stored in the repository).</summary>
    public static Task<UpdateResult> ValidateAsync(this TestRepository repository, RepositoryState state, params (string Role, byte[] Bytes)[] files) =>
        repository.Validator.ValidateAsync(repository.Gun, state, files.Select(f => TestRepository.Upload(f.Role, f.Bytes)), repository.Server);
}
