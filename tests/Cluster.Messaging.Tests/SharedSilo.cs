using Cluster.Testing;

namespace Cluster.Messaging.Tests;

[CollectionDefinition(Name)]
public sealed class SharedSilo : ICollectionFixture<SiloFixture>
{
    public const string Name = "silo";
}
