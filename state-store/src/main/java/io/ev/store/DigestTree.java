/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.store;

/**
 * Read-only view of a Merkle tree over page digests. Level 0 holds the page digests themselves,
 * level {@code levels() - 1} holds the single root. Node {@code i} of level {@code l + 1} covers
 * nodes {@code [i * fanout, (i + 1) * fanout)} of level {@code l}.
 * <p>
 * The remote side of a diff implements this over digests received from its peer.
 */
public interface DigestTree
{
    /**
     * @return children per node.
     */
    int fanout();

    /**
     * @return number of levels including the page level and the root level.
     */
    int levels();

    /**
     * @param level 0 for pages.
     * @return nodes on that level.
     */
    int width(int level);

    /**
     * @param level 0 for pages.
     * @param index node index on the level.
     * @return the node's digest.
     */
    long node(int level, int index);

    /**
     * @return the root digest.
     */
    default long root()
    {
        return node(levels() - 1, 0);
    }
}
