using Cluster.Grains.Accounts;
using Cluster.Persistence.Blobs;
using Cluster.Silo.Hosting;

namespace Cluster.Silo.Blobs;

/// <summary>The blobs feature's one wiring point: the store, its sweeper and the two endpoints.</summary>
internal static class BlobsExtensions
{
    public static WebApplicationBuilder AddBlobs(this WebApplicationBuilder builder, DatabaseEndpoint database)
    {
        builder.Services.AddOptions<BlobOptions>().BindConfiguration(BlobOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddBlobStore(database.Kind, database.ConnectionString, database.SqliteDataSource);
        builder.Services.AddHostedService<BlobSweeper>();
        // Account deletion: every blob the account uploaded, finished or under way.
        builder.Services.AddAccountDeletionStep<IBlobStore>((store, account, cancel) => store.DeleteOwnedAsync(account, cancel));
        return builder;
    }

    public static IEndpointRouteBuilder MapBlobs(this IEndpointRouteBuilder v1)
    {
        BlobEndpoints.Map(v1);
        return v1;
    }
}
