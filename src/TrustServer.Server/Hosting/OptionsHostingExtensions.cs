using TrustServer.Server.Options;
using TrustServer.Signing.Remote;

namespace TrustServer.Server.Hosting;

/// <summary>Binds and validates the server's options at start (DESIGN.md §6).</summary>
internal static class OptionsHostingExtensions
{
    public static WebApplicationBuilder AddServerOptions(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section)
            .Validate(o => o.Provider is "Sqlite" or "Postgres", "Storage:Provider must be Sqlite or Postgres").ValidateOnStart();
        builder.Services.AddOptions<SigningOptions>().BindConfiguration(SigningOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.Mode is "Embedded" or "Remote", "Signing:Mode must be Embedded or Remote").ValidateOnStart();
        builder.Services.AddOptions<RemoteSignerOptions>().BindConfiguration(RemoteSignerOptions.Section)
            .Validate(o => builder.Configuration["Signing:Mode"] != "Remote" || Uri.IsWellFormedUriString(o.Url, UriKind.Absolute), "Signing:Remote:Url must be an absolute URL when Signing:Mode is Remote")
            .Validate(o => o.CallTimeout > TimeSpan.Zero && o.MaxAttempts >= 1, "Signing:Remote:CallTimeout must be positive and MaxAttempts at least 1")
            .ValidateOnStart();
        builder.Services.AddOptions<CachingOptions>().BindConfiguration(CachingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ReadCacheOptions>().BindConfiguration(ReadCacheOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<RepositoryOptions>().BindConfiguration(RepositoryOptions.Section)
            .Validate(o => o.GunPrefixes.All(IsValidPrefix), "Repositories:GunPrefixes: each prefix must end with '/', be a clean path and not start with '/' or '..'")
            .ValidateOnStart();
        builder.Services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        return builder;
    }

    // notary-server's rules for gun_prefixes (config-and-ops.md §3).
    private static bool IsValidPrefix(string prefix) =>
        prefix.Length > 1 && prefix.EndsWith('/') && prefix.Trim() == prefix && !prefix.StartsWith('/') && !prefix.StartsWith("..", StringComparison.Ordinal)
        && Notary.NotaryRouter.CleanPath("/" + prefix) == "/" + prefix;
}
